"""The services the tests run against, started for the session on free ports in a temp dir.

MariaDB primary + replica and Redis are always started here. RabbitMQ is used when reachable;
otherwise the broker is the test Redis, except under CI=true, where every service is required
and a missing one fails the run instead of skipping anything.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack import MariaDBPair, RedisServer, rabbitmq_reachable

DB_NAME = "flashsale"
RABBIT_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


class StackUnavailable(RuntimeError):
    pass


@dataclass
class Stack:
    workdir: Path
    mariadb: MariaDBPair
    redis: RedisServer
    broker_url: str
    queue: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.mariadb.url(DB_NAME),
            "DATABASE_REPLICA_URL": self.mariadb.url(DB_NAME, replica=True),
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_QUEUE": self.queue,
        }

    def stop(self) -> None:
        for stop in (self.redis.stop, self.mariadb.stop):
            try:
                stop()
            except Exception:  # stopping the rest matters more than one failure here
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise StackUnavailable(what)


def start_stack() -> Stack:
    ci = os.environ.get("CI", "").lower() == "true"
    _require(bool(shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()),
             "MariaDB server binaries are missing: apt-get install mariadb-server")
    workdir = Path(tempfile.mkdtemp(prefix="flashsale-test-"))
    timings: dict[str, float] = {}
    t = time.monotonic()
    redis = RedisServer(workdir / "redis").start()
    timings["redis"] = time.monotonic() - t
    t = time.monotonic()
    try:
        mariadb = MariaDBPair(workdir / "mariadb").start()
        mariadb.create_database(DB_NAME)
    except Exception:
        redis.stop()
        raise
    timings["mariadb_pair"] = time.monotonic() - t
    if rabbitmq_reachable(RABBIT_URL):
        broker = RABBIT_URL
    elif ci:
        redis.stop()
        mariadb.stop()
        raise StackUnavailable(f"RabbitMQ is not reachable at {RABBIT_URL} (required under CI=true)")
    else:
        broker = redis.url.rsplit("/", 1)[0] + "/1"
    # A queue of our own: other test runs on the same broker must not take our tasks.
    queue = f"flashsale-test-{uuid.uuid4().hex[:10]}"
    return Stack(workdir, mariadb, redis, broker, queue, timings)
