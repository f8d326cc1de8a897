"""MariaDB primary+replica, Redis and a Celery broker for one run, on free ports in a temporary directory.

The broker is RabbitMQ when reachable, else the run's own Redis (database 1); the caller decides
whether a missing RabbitMQ is acceptable (`ServiceStack.uses_rabbitmq`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .mariadb_datadir import MARIADBD
from .mariadb_pair import MariaDBPair
from .rabbitmq import DEFAULT_URL, rabbitmq_reachable
from .redis_cluster import RedisClusterServers
from .redis_server import RedisServer


def mariadb_installed() -> bool:
    """True if a MariaDB server binary is installed (on PATH or where Debian puts it)."""
    return bool(shutil.which("mariadbd") or Path(MARIADBD).exists())


@dataclass
class ServiceStack:
    """The running services of one run; every file of theirs is under `workdir`."""

    workdir: Path
    mariadb: MariaDBPair
    redis: RedisServer
    db_name: str
    broker_url: str
    queue: str  # A Celery queue of our own: other runs on the same broker must not take our tasks.
    timings: dict[str, float] = field(default_factory=dict)  # Seconds each service took to start.
    redis_cluster: RedisClusterServers | None = None  # Started by callers that want one (the tests).

    @property
    def uses_rabbitmq(self) -> bool:
        return self.broker_url.startswith("amqp")

    def service_env(self) -> dict[str, str]:
        """The app's settings that point it at these services."""
        return {
            "DATABASE_URL": self.mariadb.url(self.db_name),
            "DATABASE_REPLICA_URL": self.mariadb.url(self.db_name, replica=True),
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_QUEUE": self.queue,
        }

    def stop(self, keep: bool = False) -> None:
        """Stop every server, then delete `workdir` unless `keep`."""
        cluster_stop = self.redis_cluster.stop if self.redis_cluster else (lambda: None)
        for stop in (cluster_stop, self.redis.stop, self.mariadb.stop):
            try:
                stop()
            except Exception:  # Stopping the rest matters more than one failure here.
                pass
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def start_redis_cluster(self, masters: int = 3, replicas: int = 0) -> RedisClusterServers:
        """Start a Redis Cluster beside the single Redis (in `workdir`), stopped with the rest."""
        t = time.monotonic()
        self.redis_cluster = RedisClusterServers(self.workdir / "redis-cluster", masters, replicas).start()
        self.timings["redis_cluster"] = time.monotonic() - t
        return self.redis_cluster


S = TypeVar("S", bound=ServiceStack)


def start_services(
    *,
    name: str,
    db_name: str,
    rabbitmq_url: str = DEFAULT_URL,
    stack_class: type[S] = ServiceStack,
    **fields: Any,
) -> S:
    """Start Redis, then the MariaDB pair with database `db_name`, in a new directory `<tmp>/<name>-*`.

    The queue is named `<name>-<random>`. `stack_class` (a ServiceStack) is built with `fields` added.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    timings: dict[str, float] = {}
    t = time.monotonic()
    redis = RedisServer(workdir / "redis").start()
    timings["redis"] = time.monotonic() - t
    t = time.monotonic()
    try:
        mariadb = MariaDBPair(workdir / "mariadb").start()
        mariadb.create_database(db_name)
    except BaseException:
        redis.stop()
        raise
    timings["mariadb_pair"] = time.monotonic() - t
    broker = rabbitmq_url if rabbitmq_reachable(rabbitmq_url) else redis.url.rsplit("/", 1)[0] + "/1"
    queue = f"{name}-{uuid.uuid4().hex[:10]}"
    return stack_class(workdir, mariadb, redis, db_name, broker, queue, timings=timings, **fields)
