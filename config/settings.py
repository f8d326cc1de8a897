"""Settings, read from the environment through the validating helpers in ``config.env``.

With nothing set, the project runs embedded: SQLite and a Redis at ``REDIS_URL`` (the run
command starts one). Production sets DATABASE_URL / DATABASE_REPLICA_URL (MariaDB),
REDIS_URL and CELERY_BROKER_URL (RabbitMQ). See README.md for the full table.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.env import env_bool, env_choice, env_db, env_int, env_list, env_rate, env_str, env_time_zone
from config.log_context import logging_config
from config.switches import load_test_switches_check

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as our own static files (no CDN)
    "csp",
    "captcha",
    "inventory",
    "flashsale",
    "orders",
    "reconciliation",
]

MIDDLEWARE = [
    "config.log_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiBodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.db_router.PinPrimaryAfterWriteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The shopper's language: the django_language cookie (set_language), else Accept-Language, else LANGUAGE_CODE
    # (Django's LocaleMiddleware without its URL-prefix handling, which the project does not use: config/language.py).
    "config.language.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Money and shop-time filters on every page (config/templatetags.py).
            "builtins": ["config.templatetags"],
        },
    },
]

# --- Databases: primary + replica behind a read/write router ----------------------------
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)


def _database(config: dict) -> dict:
    config = {**config, "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60), "CONN_HEALTH_CHECKS": True}
    if config["ENGINE"] == "django.db.backends.mysql":
        # Why: a frozen primary must fail a worker's call in seconds (then it retries), not hang it.
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            "connect_timeout": DB_CONNECT_TIMEOUT,
            "read_timeout": env_int("DB_READ_TIMEOUT", 30, minimum=1),
            "write_timeout": env_int("DB_WRITE_TIMEOUT", 30, minimum=1),
            **config.get("OPTIONS", {}),
        }
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # Why: web, worker and beat share one file in embedded mode; WAL lets reads run beside a write.
        config["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    return config


_primary = env_db("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
_replica = env_db("DATABASE_REPLICA_URL")
DATABASES = {"default": _database(_primary)}
# Without a replica, the alias still exists and points at the primary (a mirror in tests).
DATABASES["replica"] = {**_database(_replica or _primary), "TEST": {"MIRROR": "default"}}
HAS_REPLICA = _replica is not None
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: the stock, the reservation log, the cache and the rate limits ---------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# true: REDIS_URL names one node of a Redis Cluster; the client discovers the others (docs/scaling.md).
REDIS_CLUSTER = env_bool("REDIS_CLUSTER", False)
REDIS_SOCKET_TIMEOUT = env_int("REDIS_SOCKET_TIMEOUT_MS", 2000, minimum=50) / 1000
# Refuse any script called with keys of two cluster slots, on one server too (config/redis.py).
REDIS_SLOT_CHECK = env_bool("REDIS_SLOT_CHECK", True)
# How many replicas must hold a purchase before it is answered 202 (WAIT after the script, on the
# slot master's connection; 0 = the node's AOF alone), and how long to wait for them (docs/reliability.md).
REDIS_REPLICA_ACKS = env_int("REDIS_REPLICA_ACKS", 0, maximum=5)
REDIS_REPLICA_ACK_TIMEOUT_MS = env_int("REDIS_REPLICA_ACK_TIMEOUT_MS", 50, minimum=1, maximum=10_000)
REDIS_CACHE_OPTIONS = {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT}
if not REDIS_CLUSTER:
    # Why blocking: past 200 concurrent cache calls in one process a caller waits (up to 2 s)
    # for a connection instead of failing; every cached read goes through this pool.
    REDIS_CACHE_OPTIONS |= {
        "CONNECTION_POOL_CLASS": "redis.BlockingConnectionPool",
        "CONNECTION_POOL_KWARGS": {"max_connections": 200, "timeout": 2},
    }
# django-redis has no cluster client: on a cluster the cache is config/cluster_cache.py's backend.
REDIS_CACHE_BACKEND = "config.cluster_cache.RedisClusterCache" if REDIS_CLUSTER else "django_redis.cache.RedisCache"
CACHES = {
    "default": {
        "BACKEND": REDIS_CACHE_BACKEND,
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": REDIS_CACHE_OPTIONS,
    }
}
# The session's user from the cache (config/auth_cache.py): no DB query per request on a warm cache.
AUTHENTICATION_BACKENDS = ["config.authentication.CachedModelBackend"]
SESSION_ENGINE = "config.sessions"  # cached_db, with a cache-only read for the cached pages

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
if REDIS_CLUSTER and not CELERY_BROKER_URL.startswith("amqp"):
    # Celery and kombu have no Redis Cluster transport: a redis:// broker would talk to one node only.
    raise ImproperlyConfigured(
        "REDIS_CLUSTER=true needs a RabbitMQ broker: set CELERY_BROKER_URL=amqp://... "
        f"(Celery cannot use a Redis Cluster as its broker; got {CELERY_BROKER_URL.split('@')[-1]!r})"
    )
CELERY_TASK_ACKS_LATE = True  # Why: a task whose worker dies is redelivered, not lost.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "flashsale")
# Why a queue of their own: a large backlog of due orders held every pool process and the persister
# stopped (docs/performance.md has the numbers). Expiry and reconciliation go here;
# a worker started without -Q consumes both queues (task_queues), production runs one per queue.
MAINTENANCE_QUEUE = env_str("CELERY_MAINTENANCE_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-maintenance")
if MAINTENANCE_QUEUE == CELERY_TASK_DEFAULT_QUEUE:
    raise ImproperlyConfigured("CELERY_MAINTENANCE_QUEUE must differ from CELERY_QUEUE (the persister's queue)")
# Declared as Celery declares a queue it creates itself (a direct exchange and routing key of the same name).
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in (CELERY_TASK_DEFAULT_QUEUE, MAINTENANCE_QUEUE)
]
CELERY_TASK_ROUTES = {
    "orders.expire_unpaid": {"queue": MAINTENANCE_QUEUE},
    "reconciliation.reconcile_all": {"queue": MAINTENANCE_QUEUE},
    "flashsale.captcha_purge_expired": {"queue": MAINTENANCE_QUEUE},
    "reconciliation.preheat_due": {"queue": MAINTENANCE_QUEUE},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"confirm_publish": True}  # Why: RabbitMQ acknowledges each publish, so a kick is not silently dropped.
    if CELERY_BROKER_URL.startswith("amqp")
    else {"visibility_timeout": 300}
)
# Why time limits: a task stuck on a frozen dependency must give its pool process back. The soft
# limit raises inside the task (the persister's batch is one transaction: it rolls back, its
# entries stay pending and are re-claimed); the hard limit kills the process (acks_late redelivers).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT + 30, minimum=2)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT")
# Why: when the broker connection drops, a task still running cannot be acknowledged and will be
# redelivered; cancelling it at once avoids running it twice side by side.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True

# --- Flash sale --------------------------------------------------------------------------
FLASHSALE = {
    "CAPTCHA_REQUIRED": env_bool("FLASHSALE_CAPTCHA_REQUIRED", True),
    "TOKEN_TTL": env_int("FLASHSALE_TOKEN_TTL", 120, minimum=5),
    "IDEMPOTENCY_TTL": env_int("FLASHSALE_IDEMPOTENCY_TTL", 86400, minimum=60),
    "RESERVATION_TTL": env_int("FLASHSALE_RESERVATION_TTL", 86400, minimum=60),
    "MAX_QUANTITY": env_int("FLASHSALE_MAX_QUANTITY", 100, minimum=1, maximum=10_000),
    "PERSIST_BATCH_SIZE": env_int("FLASHSALE_PERSIST_BATCH_SIZE", 1000, minimum=1, maximum=10_000),
    "PERSIST_MAX_SECONDS": env_int("FLASHSALE_PERSIST_MAX_SECONDS", 10, minimum=1),
    "PERSIST_CLAIM_IDLE_MS": env_int("FLASHSALE_PERSIST_CLAIM_IDLE_MS", 30_000, minimum=100),
    "PERSIST_MAX_DELIVERIES": env_int("FLASHSALE_PERSIST_MAX_DELIVERIES", 5, minimum=1),
    "KICK_DEBOUNCE_MS": env_int("FLASHSALE_KICK_DEBOUNCE_MS", 200, minimum=1),
    # A split sale's transfer between two buckets: its process credits the home bucket within this
    # time or leaves it to reconciliation, which completes only transfers older than this.
    "TRANSFER_TIMEOUT_MS": env_int("FLASHSALE_TRANSFER_TIMEOUT_MS", 5000, minimum=100),
    "SWEEP_INTERVAL": env_int("FLASHSALE_SWEEP_INTERVAL", 1, minimum=1),
    "RATE_USER": env_rate("FLASHSALE_RATE_USER", "10/s"),
    "RATE_IP": env_rate("FLASHSALE_RATE_IP", "50/s"),
    "RATE_CAPTCHA": env_rate("FLASHSALE_RATE_CAPTCHA", "30/m"),
    # Polls of one sale's waiting room a second, all shoppers together (poll_after_ms spreads them).
    "QUEUE_POLL_BUDGET": env_int("FLASHSALE_QUEUE_POLL_BUDGET", 2000, minimum=10),
}
ORDER_PAYMENT_TIMEOUT = env_int("ORDER_PAYMENT_TIMEOUT", 900, minimum=1)
ORDER_EXPIRY_INTERVAL = env_int("ORDER_EXPIRY_INTERVAL", 30, minimum=1)
# One expiry run stops after this many seconds and the next beat tick goes on, so a backlog of
# due orders never holds a worker process for long.
ORDER_EXPIRY_MAX_SECONDS = env_int(
    "ORDER_EXPIRY_MAX_SECONDS", max(1, min(10, ORDER_EXPIRY_INTERVAL // 2)), minimum=1, maximum=ORDER_EXPIRY_INTERVAL
)
RECONCILE_INTERVAL = env_int("RECONCILE_INTERVAL", 60, minimum=1)
PAYMENT_GATEWAY_DECLINE = env_bool("PAYMENT_GATEWAY_DECLINE", False)  # the simulated gateway declines all
PAYMENT_FAIL_HOOK = env_bool("PAYMENT_FAIL_HOOK", DEBUG)  # ``?fail=1`` on the pay API simulates a decline
CAPTCHA_PURGE_INTERVAL = env_int("CAPTCHA_PURGE_INTERVAL", 300, minimum=1)
PREHEAT_AHEAD_SECONDS = env_int("PREHEAT_AHEAD_SECONDS", 300, minimum=1)  # beat preheats a published sale this early
PREHEAT_SWEEP_INTERVAL = env_int("PREHEAT_SWEEP_INTERVAL", 5, minimum=1)
# An ended sale's Redis keys expire this long after its end, once it is persisted and reconciled.
SALE_KEYS_GRACE_SECONDS = env_int("SALE_KEYS_GRACE_SECONDS", 3600, minimum=60)


def _beat(task: str, every: float) -> dict:
    # Why expires: during a worker outage beat keeps publishing; a tick nobody ran within its own
    # interval is dropped by the worker that finally gets it, so the backlog never piles up.
    return {"task": task, "schedule": every, "options": {"expires": every}}


CELERY_BEAT_SCHEDULE = {
    "persist-sweep": _beat("orders.persist_sweep", float(FLASHSALE["SWEEP_INTERVAL"])),
    "expire-unpaid": _beat("orders.expire_unpaid", float(ORDER_EXPIRY_INTERVAL)),
    "reconcile": _beat("reconciliation.reconcile_all", float(RECONCILE_INTERVAL)),
    "queue-advance": _beat("flashsale.queue_advance", 1.0),
    "captcha-purge": _beat("flashsale.captcha_purge_expired", float(CAPTCHA_PURGE_INTERVAL)),
    "preheat-due": _beat("reconciliation.preheat_due", float(PREHEAT_SWEEP_INTERVAL)),
}

READYZ_MAX_REPLICA_LAG = env_int("READYZ_MAX_REPLICA_LAG", 30)  # seconds; more: /readyz says degraded
READYZ_CACHE_SECONDS = env_int("READYZ_CACHE_MS", 1000, minimum=0, maximum=1000) / 1000  # probes reuse an answer
METRICS_TOKEN = env_str("METRICS_TOKEN", "")  # bearer token for /metrics; required unless DEBUG

RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)  # every rate limit and the login throttle
load_test_switches_check(
    debug=DEBUG,
    allowed=env_bool("ALLOW_LOAD_TEST_SWITCHES", False),
    switched={
        "FLASHSALE_CAPTCHA_REQUIRED=false": not FLASHSALE["CAPTCHA_REQUIRED"],
        "RATELIMIT_ENABLE=false": not RATELIMIT_ENABLE,
        "PAYMENT_FAIL_HOOK=true": PAYMENT_FAIL_HOOK,
        "PAYMENT_GATEWAY_DECLINE=true": PAYMENT_GATEWAY_DECLINE,
    },
)
# Failed logins: free attempts per account and per client network, then a doubling wait (config/login_throttle.py).
LOGIN_THROTTLE = {
    "FREE_PER_ACCOUNT": env_int("LOGIN_FREE_ATTEMPTS_PER_ACCOUNT", 5, minimum=1),
    "FREE_PER_NETWORK": env_int("LOGIN_FREE_ATTEMPTS_PER_NETWORK", 20, minimum=1),
    "FIRST_DELAY_MS": 1000,
    "MAX_DELAY_SECONDS": env_int("LOGIN_MAX_DELAY_SECONDS", 60, minimum=1, maximum=3600),
    "WINDOW_SECONDS": env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=60),
}
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])  # IPs or CIDRs whose X-Forwarded-For we believe
CAPTCHA_TIMEOUT = 5  # minutes
CAPTCHA_IMAGE_SIZE = (120, 40)

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.LeanTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.BoundedJSONParser"],  # DRF's, with nesting bounded
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flash-sale order system API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # What Django's <int:> and <str:> path converters match ([0-9]+ and [^/]+), said in the schema.
    "PATH_CONVERTER_OVERRIDES": {
        "int": {"type": "integer", "minimum": 0},
        "str": {"type": "string", "pattern": "^[^/]+$"},
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",
        "orders.openapi_links.add_journey_links",
    ],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024, minimum=1024)

# --- Static, i18n, auth ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (app.3f2a1c.js) from collectstatic's manifest: whitenoise serves those with a
    # year's lifetime and "immutable"; a new deploy changes the name, so no browser keeps a stale copy.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
# Off: each process indexes STATIC_ROOT once at start. The tests turn it on: Django's test client
# builds the middleware per client, and an index per client made page tests many times slower.
WHITENOISE_AUTOREFRESH = env_bool("WHITENOISE_AUTOREFRESH", DEBUG)
WHITENOISE_MAX_AGE = 0 if DEBUG else 60  # unhashed names only (the hashed ones are immutable)

# --- Content-Security-Policy (django-csp): only our own scripts, styles and connections --------
# No inline script or style anywhere (pages, admin, API docs): scripts are static files, data goes
# in data- attributes or <script type="application/json">, so script-src needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Languages: Traditional Chinese (Taiwan) first. The visitor's choice (the set_language cookie), else
# their Accept-Language, else LANGUAGE_CODE. Catalogs: locale/ (scripts/messages.sh, README).
LANGUAGES = [("zh-hant", "繁體中文"), ("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "zh-hant", [code for code, _ in LANGUAGES])
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # each language's date and time formats (the project's own)
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Times are stored and computed in UTC; pages show them in the shop's zone.
TIME_ZONE = "UTC"
SHOP_TIME_ZONE = env_time_zone("SHOP_TIME_ZONE", "Asia/Taipei")
USE_I18N = True
USE_TZ = True
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/sales/"

# --- Security behind HTTPS -------------------------------------------------------------
SECURE_HTTPS = env_bool("SECURE_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_HTTPS else None
SESSION_COOKIE_HTTPONLY = True

LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ["plain", "json"])  # json: one object a line (config/log_context.py)
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
