"""The services the tests run against, started for the session on free ports in a temp dir.

MariaDB primary + replica and Redis are always started here (devstack.start_services), and a
3-master Redis Cluster beside them (the ``redis_cluster`` and ``each_redis`` fixtures point a test
at it). RabbitMQ is used when reachable; otherwise the broker is the test Redis, except under
CI=true, where every service is required and a missing one fails the run instead of skipping
anything.
"""

from __future__ import annotations

import os

from devstack import ServerError, ServiceStack, mariadb_installed, start_services

DB_NAME = "flashsale"
RABBIT_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


class StackUnavailable(RuntimeError):
    pass


class Stack(ServiceStack):
    redis_cluster_error: str = ""

    @property
    def env(self) -> dict[str, str]:
        return self.service_env()


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise StackUnavailable(what)


def start_stack() -> Stack:
    ci = os.environ.get("CI", "").lower() == "true"
    _require(mariadb_installed(), "MariaDB server binaries are missing: apt-get install mariadb-server")
    stack = start_services(name="flashsale-test", db_name=DB_NAME, rabbitmq_url=RABBIT_URL, stack_class=Stack)
    if ci and not stack.uses_rabbitmq:
        stack.stop()
        raise StackUnavailable(f"RabbitMQ is not reachable at {RABBIT_URL} (required under CI=true)")
    try:
        stack.start_redis_cluster()
    except ServerError as exc:
        if ci:
            stack.stop()
            raise StackUnavailable(f"the test Redis Cluster did not start (required under CI=true): {exc}") from None
        stack.redis_cluster_error = str(exc)  # its tests skip, naming this, outside CI only
    return stack
