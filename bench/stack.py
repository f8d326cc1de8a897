"""The production-like stack of one bench run, on free ports in a temporary directory.

MariaDB primary + replica and Redis (AOF everysec) from devstack.start_services; RabbitMQ at
127.0.0.1:5672 when reachable (a queue of our own), else the bench Redis as the broker (said in the
output). This process then configures Django (bench.settings) against the stack and migrates it.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import ServiceStack, mariadb_installed, start_services

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "flashsale_bench"
HUGE_RATE = "1000000/s"


@dataclass(kw_only=True)
class Stack(ServiceStack):
    """The bench's services, plus its app environment (rate limits raised or off) and secret."""

    ratelimit: str  # 'raised' (enabled, limits far above the load) or 'off' (RATELIMIT_ENABLE=false)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(40))

    @property
    def broker_name(self) -> str:
        return "RabbitMQ" if self.uses_rabbitmq else "Redis (RabbitMQ not reachable)"

    def env(self, **overrides: str) -> dict[str, str]:
        """The app's environment: the stack's addresses and the load-test switches, nothing inherited."""
        env = {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SECRET_KEY": self.secret,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "VAR_DIR": str(self.workdir / "var"),
            **self.service_env(),
            "DB_CONN_MAX_AGE": "60",
            "FLASHSALE_CAPTCHA_REQUIRED": "false",
            "ALLOW_LOAD_TEST_SWITCHES": "true",  # DEBUG is off: the captcha and rate-limit switches need it
            # Tokens are pre-issued before a measurement; keep them valid for the whole run.
            "FLASHSALE_TOKEN_TTL": "3600",
            "RATELIMIT_ENABLE": "false" if self.ratelimit == "off" else "true",
            "FLASHSALE_RATE_USER": HUGE_RATE,
            "FLASHSALE_RATE_IP": HUGE_RATE,
            # Why a day: with the default 15 minutes, the orders of the run's first minutes expire
            # while the whole sale runs. Expiry no longer stalls the persister (its own queue and
            # worker, a time budget per run), but on these 2 cores it would take CPU from what is
            # measured, and expiry is not measured here.
            "ORDER_PAYMENT_TIMEOUT": "86400",
        }
        env.update(overrides)
        return env

    @property
    def maintenance_queue(self) -> str:
        return f"{self.queue}-maintenance"  # what config/settings.py derives from CELERY_QUEUE

    def stop(self, keep: bool = False) -> None:
        super().stop(keep)
        if self.uses_rabbitmq:  # a shared RabbitMQ keeps queues: leave none of ours behind
            _delete_queues(self.broker_url, [self.queue, self.maintenance_queue, f"{self.queue}-one"])


def _delete_queues(url: str, names: list[str]) -> None:
    try:
        from kombu import Connection

        with Connection(url, connect_timeout=2) as conn:
            channel = conn.channel()
            for name in names:
                try:
                    channel.queue_delete(name)
                except Exception:
                    channel = conn.channel()  # a missing queue closes the channel
    except Exception:
        pass


def start_stack(*, ratelimit: str, log=print) -> Stack:
    if not mariadb_installed():
        raise SystemExit("MariaDB server binaries are missing: apt-get install mariadb-server-core mariadb-client-core")
    stack = start_services(name="flashsale-bench", db_name=DB_NAME, stack_class=Stack, ratelimit=ratelimit)
    (stack.workdir / "var").mkdir()
    stack.timings["services"] = stack.timings["redis"] + stack.timings["mariadb_pair"]
    log(
        f"stack: MariaDB primary :{stack.mariadb.primary_port} + replica :{stack.mariadb.replica_port}, "
        f"Redis :{stack.redis.port} (AOF everysec), broker {stack.broker_name}, queue {stack.queue}, "
        f"dir {stack.workdir}"
    )
    return stack


def setup_django(stack: Stack) -> None:
    """Point this process's Django at the stack (bench.settings), then migrate the primary."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(stack.env(LOG_LEVEL="WARNING"))  # this process's own INFO lines are noise here
    import django

    django.setup()
    from django.core.management import call_command

    from config.db_router import pin

    pin()  # this process reads what it just wrote (users, sales, orders): never the replica

    t = time.monotonic()
    call_command("migrate", database="default", verbosity=0)
    stack.mariadb.wait_for_replica(timeout=60)
    stack.timings["migrate"] = time.monotonic() - t
