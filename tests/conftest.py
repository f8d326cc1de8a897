"""Session set-up: start the real services, then let pytest-django configure Django against them."""

from __future__ import annotations

import os

import pytest

from tests.support.stack import Stack, StackUnavailable, start_stack
from tests.support.static import STATIC_ROOT, static_collect

_stack: Stack | None = None

TEST_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "SECRET_KEY": "test-secret-key-not-for-production",
    "DEBUG": "false",
    "REPLICA_PIN_SECONDS": "5",
    "FLASHSALE_PERSIST_CLAIM_IDLE_MS": "1500",
    "DB_CONN_MAX_AGE": "0",
    "STATIC_ROOT": str(STATIC_ROOT),
    "WHITENOISE_AUTOREFRESH": "true",  # no index of STATIC_ROOT per test client (config/settings.py)
}


def pytest_configure(config):
    global _stack
    if config.option.help or config.option.version:
        return
    try:
        _stack = start_stack()
    except StackUnavailable as exc:
        raise pytest.UsageError(f"test services unavailable: {exc}") from None
    os.environ.update(TEST_ENV)
    os.environ.update(_stack.env)
    # Load the settings now: pytest-django's own (trylast) pytest_configure then sets Django up.
    from django.conf import settings

    settings.DATABASES  # noqa: B018
    # Test accounts need no brute-force resistance: PBKDF2 would cost ~0.5 s per factory user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_unconfigure(config):
    if _stack is not None:
        _stack.stop()


def pytest_report_header(config):
    if _stack is None:
        return None
    t = ", ".join(f"{k} {v:.1f}s" for k, v in _stack.timings.items())
    cluster = "a 3-master Redis Cluster" if _stack.redis_cluster else f"no Redis Cluster ({_stack.redis_cluster_error})"
    return [f"services: MariaDB primary+replica, Redis, {cluster}, broker {_stack.broker_url.split('@')[-1]} ({t})"]


@pytest.fixture(scope="session")
def stack() -> Stack:
    assert _stack is not None
    return _stack


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker, stack):
    """Migrate the stack's own (throwaway) database once; the replica gets it by replication."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("migrate", database="default", verbosity=0)
    stack.mariadb.wait_for_replica()


@pytest.fixture(scope="session", autouse=True)
def _static_collected():
    """Pages name their static files by hash (the manifest storage): collect them once."""
    static_collect()


@pytest.fixture(autouse=True)
def _clean_redis(stack):
    """Each test starts with an empty Redis (the DB is flushed by pytest-django)."""
    import redis

    from config.redis import reset_redis
    from inventory.buckets import bucket_counts_forget

    redis.Redis.from_url(stack.redis.url).flushall()
    reset_redis()
    bucket_counts_forget()
    yield


@pytest.fixture
def redis_cluster(stack, settings, monkeypatch):
    """This test's Redis is the session's 3-master Redis Cluster, emptied: ``get_redis()`` is a
    RedisCluster and the cache is config/cluster_cache.py's backend (REDIS_CLUSTER=true). The
    environment says so too, for the workers and web servers a test starts (they need RabbitMQ)."""
    from tests.support.cluster import use_redis_cluster

    if stack.redis_cluster is None:  # only outside CI (tests/support/stack.py)
        pytest.skip(f"no test Redis Cluster: {stack.redis_cluster_error}")
    stack.redis_cluster.flush()
    with use_redis_cluster(stack.redis_cluster, settings, monkeypatch):
        yield stack.redis_cluster


@pytest.fixture(params=["redis", "redis_cluster"])
def each_redis(request):
    """Run the test twice: on the single Redis, then on the Redis Cluster (``redis_cluster``).

    Use it as ``on_each_redis`` (tests/helpers.py: ``pytest.mark.usefixtures("each_redis")``), in a
    module's ``pytestmark`` or on one test; it comes before the test's own fixtures, so a sale they
    preheat lands on the Redis under test."""
    if request.param == "redis_cluster":
        return request.getfixturevalue("redis_cluster")
    return request.getfixturevalue("stack").redis


@pytest.fixture
def no_captcha(settings):
    """Tokens without a captcha, as FLASHSALE_CAPTCHA_REQUIRED=false gives load tests."""
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False}


@pytest.fixture
def no_rate_limits(settings):
    """RATELIMIT_ENABLE=false (every rate limit off), for tests that hammer one user."""
    settings.RATELIMIT_ENABLE = False
