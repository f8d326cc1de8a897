"""Probes. ``/healthz``: the process answers (liveness; touches nothing, so a sick database never
gets healthy web processes restarted). ``/readyz``: everything a purchase needs answers in time:
the primary, the replica (replicating, not too far behind), Redis and the broker.

Each check runs in its own thread and the probe waits for all of them up to one deadline, so a
frozen dependency turns into ``"timeout"`` within ~1.5 s instead of hanging the probe. A check
still running from an earlier probe is joined, not started again: a hung server costs one thread
per check, not one per probe; the broker's answer is also reused for a second, so a probe storm
does not open a broker connection per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait

import redis
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.http import require_safe
from kombu import Connection

from config.db_router import PRIMARY, REPLICA
from config.errors import error_body
from config.redis import get_redis
from config.replica_acks import replica_acks_problem

logger = logging.getLogger(__name__)
DEADLINE_SECONDS = 1.5  # the whole probe answers within this (plus a few ms)
CLIENT_TIMEOUT_SECONDS = 1  # each client's own connect/read timeout
BROKER_CACHE_SECONDS = 1.0
NO_STORE = {"Cache-Control": "no-store"}


class NotReady(Exception):
    """A failed check, with a short reason that is safe to show to whoever can reach the probe."""


@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"}, headers=NO_STORE)


@require_safe
def readyz(request):
    checks = run_checks()
    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        body = {**error_body("not_ready", f"Not ready; failing: {', '.join(failing)}"), "checks": checks}
        return JsonResponse(body, status=503, headers={**NO_STORE, "Retry-After": "1"})
    return JsonResponse({"status": "ready", "checks": checks}, headers=NO_STORE)


# --- the checks: each returns on success and raises on failure -----------------------------


def _raw_connection(alias: str):
    """A fresh DB-API connection with short timeouts (the app's own read timeout is 30 s)."""
    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    if wrapper.vendor == "mysql":
        params.update(
            connect_timeout=CLIENT_TIMEOUT_SECONDS,
            read_timeout=CLIENT_TIMEOUT_SECONDS,
            write_timeout=CLIENT_TIMEOUT_SECONDS,
        )
    return wrapper.vendor, wrapper.get_new_connection(params)


def _query(alias: str, sql: str, fallback: str | None = None) -> list[dict]:
    vendor, conn = _raw_connection(alias)
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql)
        except Exception:
            if fallback is None:
                raise
            cursor.execute(fallback)  # an older server without the newer spelling
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


def check_primary() -> None:
    _query(PRIMARY, "SELECT 1")


def check_replica() -> None:
    if not (settings.HAS_REPLICA and connections[REPLICA].vendor == "mysql"):
        _query(REPLICA, "SELECT 1")  # no replica configured: the alias points at the primary
        return
    # MariaDB >= 10.5 and MySQL >= 8.0.22 know SHOW REPLICA STATUS; MySQL 8.4 forgot SHOW SLAVE STATUS.
    rows = _query(REPLICA, "SHOW REPLICA STATUS", fallback="SHOW SLAVE STATUS")
    replication_problem(rows[0] if rows else {}, getattr(settings, "READYZ_MAX_REPLICA_LAG", 30))


def _field(status: dict, *names: str):
    return next((status[name] for name in names if name in status), None)


def replication_problem(status: dict, max_lag: int) -> None:
    """Raise NotReady unless both replication threads run and the lag is at most ``max_lag`` s."""
    if not status:
        raise NotReady("not replicating")
    if _field(status, "Slave_IO_Running", "Replica_IO_Running") != "Yes":
        raise NotReady("io thread not running")
    if _field(status, "Slave_SQL_Running", "Replica_SQL_Running") != "Yes":
        raise NotReady("sql thread not running")
    lag = _field(status, "Seconds_Behind_Master", "Seconds_Behind_Source")
    if lag is None:
        raise NotReady("lag unknown")
    if int(lag) > max_lag:
        raise NotReady(f"lag {int(lag)}s > {max_lag}s")


def check_redis() -> None:
    try:
        get_redis().ping()
    except redis.BusyLoadingError:  # a subclass of ConnectionError: test it first
        raise NotReady("loading") from None  # reloading its AOF: the sale state is not there yet


def check_redis_replicas() -> None:
    """Purchases are refused (503) while a master has fewer replicas than REDIS_REPLICA_ACKS: say so."""
    problem = replica_acks_problem()
    if problem:
        raise NotReady(problem)


_broker_checked: tuple[float, str] = (float("-inf"), "")  # (when, '' = ok or the reason)


def check_broker() -> None:
    global _broker_checked
    checked_at, problem = _broker_checked
    if time.monotonic() - checked_at >= BROKER_CACHE_SECONDS:
        problem = _probe_broker()
        _broker_checked = (time.monotonic(), problem)
    if problem:
        raise NotReady(problem)


def _probe_broker() -> str:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=CLIENT_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=CLIENT_TIMEOUT_SECONDS)
    except Exception as exc:  # refused, timed out, bad login: all mean "cannot publish"
        logger.warning("readyz: broker unreachable: %r", exc)
        return type(exc).__name__
    return ""


CHECKS: dict[str, Callable[[], None]] = {
    "primary": check_primary,
    "replica": check_replica,
    "redis": check_redis,
    "redis_replicas": check_redis_replicas,
    "broker": check_broker,
}


# --- running them against one deadline -----------------------------------------------------

_inflight: dict[str, Future] = {}
_inflight_lock = threading.Lock()


def _run(future: Future, check: Callable[[], None]) -> None:
    try:
        check()
    except BaseException as exc:  # reported through the future, never lost in the thread
        future.set_exception(exc)
    else:
        future.set_result(None)


def _start(name: str, check: Callable[[], None]) -> Future:
    with _inflight_lock:
        future = _inflight.get(name)
        if future is not None and not future.done():
            return future  # join the check already running (perhaps hung) instead of piling up threads
        future = _inflight[name] = Future()
    threading.Thread(target=_run, args=(future, check), name=f"readyz-{name}", daemon=True).start()
    return future


def _verdict(name: str, future: Future) -> str:
    if not future.done():
        logger.warning("readyz: %s did not answer within %.1fs", name, DEADLINE_SECONDS)
        return "timeout"
    exc = future.exception()
    if exc is None:
        return "ok"
    if isinstance(exc, NotReady):
        logger.warning("readyz: %s not ready: %s", name, exc)
        return str(exc)
    logger.warning("readyz: %s failed: %r", name, exc)
    return type(exc).__name__  # the class only: messages may carry host names


def run_checks(deadline: float = DEADLINE_SECONDS) -> dict[str, str]:
    futures = {name: _start(name, check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=deadline)
    return {name: _verdict(name, future) for name, future in futures.items()}
