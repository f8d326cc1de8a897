"""Probes. ``/healthz``: the process answers (liveness; touches nothing, so a sick database never
gets healthy web processes restarted). ``/readyz``: can this instance take purchases? That needs
Redis only (the purchase is one Redis script; the persister drains the stream later), so the
probe answers 503 only when Redis is unreachable, hangs or is reloading its AOF. The primary, the
replica and the broker are checked too and reported in the body: any of them failing makes the
status ``degraded`` with a 200, because purchases keep working through those outages and a load
balancer that pulled every instance for one of them would turn a degraded sale into an outage.

Each check runs in its own thread and the probe waits for all of them up to one deadline, so a
frozen dependency turns into ``"timeout"`` within ~1.5 s instead of hanging the probe. A check
still running from an earlier probe is joined, not started again. The whole answer is reused for
up to ``READYZ_CACHE_SECONDS`` (at most 1 s), and the checks keep one connection each to the
databases and the broker, reused from call to call (opened again only after a failure), so a
probe storm costs neither a connection nor a query per request.
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
NO_STORE = {"Cache-Control": "no-store"}
REQUIRED = ("redis",)  # what a purchase needs: its failure alone makes the instance not ready


class NotReady(Exception):
    """A failed check, with a short reason that is safe to show to whoever can reach the probe."""


@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"}, headers=NO_STORE)


@require_safe
def readyz(request):
    checks = cached_checks()
    failing = [name for name, result in checks.items() if result != "ok"]
    blocking = [name for name in failing if name in REQUIRED]
    if blocking:
        body = {**error_body("not_ready", f"Not ready; failing: {', '.join(failing)}"), "checks": checks}
        return JsonResponse(body, status=503, headers={**NO_STORE, "Retry-After": "1"})
    status = "degraded" if failing else "ready"
    return JsonResponse({"status": status, "degraded": failing, "checks": checks}, headers=NO_STORE)


# --- one long-lived connection per dependency ---------------------------------------------------


class _Kept:
    """One client kept across probes: opened on first use, closed and dropped after any failure.
    Only one check per name runs at a time (``_start``), so a client is never used by two threads."""

    def __init__(self, open_: Callable, close: Callable):
        self._open, self._close, self._client = open_, close, None

    def use(self, action: Callable):
        if self._client is not None:
            try:
                return action(self._client)
            except Exception:  # noqa: BLE001 - perhaps only this connection died (an idle timeout)
                self.reset()
        # Why one more try on a new connection: a kept connection the server dropped while idle
        # must not report a healthy dependency as failing.
        self._client = self._open()
        try:
            return action(self._client)
        except BaseException:
            self.reset()
            raise

    def reset(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                self._close(client)
            except Exception:  # noqa: BLE001
                pass


def _open_db(alias: str):
    """A DB-API connection with short timeouts (the app's own read timeout is 30 s)."""
    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    if wrapper.vendor == "mysql":
        params.update(
            connect_timeout=CLIENT_TIMEOUT_SECONDS,
            read_timeout=CLIENT_TIMEOUT_SECONDS,
            write_timeout=CLIENT_TIMEOUT_SECONDS,
        )
    return wrapper.get_new_connection(params)


def _open_broker():
    conn = Connection(settings.CELERY_BROKER_URL, connect_timeout=CLIENT_TIMEOUT_SECONDS)
    conn.ensure_connection(max_retries=1, interval_start=0, timeout=CLIENT_TIMEOUT_SECONDS)
    return conn


_kept = {
    PRIMARY: _Kept(lambda: _open_db(PRIMARY), lambda c: c.close()),
    REPLICA: _Kept(lambda: _open_db(REPLICA), lambda c: c.close()),
    "broker": _Kept(_open_broker, lambda c: c.release()),
}


def reset_connections() -> None:
    """Close the kept connections (tests restart the services under them)."""
    for kept in _kept.values():
        kept.reset()
    with _cache_lock:
        _cache.clear()


def _query(alias: str, sql: str, fallback: str | None = None) -> list[dict]:
    def run(conn) -> list[dict]:
        cursor = conn.cursor()
        try:
            try:
                cursor.execute(sql)
            except Exception:
                if fallback is None:
                    raise
                cursor.execute(fallback)  # an older server without the newer spelling
            names = [column[0] for column in cursor.description or ()]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    return _kept[alias].use(run)


# --- the checks: each returns on success and raises on failure -----------------------------


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
        get_redis().ping()  # the app's own pool: a pooled connection, not a new one
    except redis.BusyLoadingError:  # a subclass of ConnectionError: test it first
        raise NotReady("loading") from None  # reloading its AOF: the sale state is not there yet


def check_redis_replicas() -> None:
    """Purchases are refused (503) while a master has fewer replicas than REDIS_REPLICA_ACKS: say so.
    Reported as degraded, not required: every instance shares it, so pulling them would not help."""
    problem = replica_acks_problem()
    if problem:
        raise NotReady(problem)


def _broker_round_trip(conn) -> None:
    channel = conn.default_channel
    if conn.transport.driver_type == "redis":
        channel.client.ping()
    else:
        # One round trip on the kept connection: amq.direct exists on every RabbitMQ.
        channel.exchange_declare(exchange="amq.direct", type="direct", durable=True, passive=True)


def check_broker() -> None:
    try:
        _kept["broker"].use(_broker_round_trip)
    except Exception as exc:  # refused, timed out, bad login: all mean "cannot publish"
        raise NotReady(f"unreachable ({type(exc).__name__})") from None


CHECKS: dict[str, Callable[[], None]] = {
    "primary": check_primary,
    "replica": check_replica,
    "redis": check_redis,
    "redis_replicas": check_redis_replicas,
    "broker": check_broker,
}


# --- running them against one deadline, at most once a second ------------------------------

_inflight: dict[str, Future] = {}
_inflight_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, str]]] = {}
_cache_lock = threading.Lock()


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


def cached_checks() -> dict[str, str]:
    """The last result if it is younger than READYZ_CACHE_SECONDS, else a fresh one."""
    max_age = min(1.0, settings.READYZ_CACHE_SECONDS)
    with _cache_lock:
        taken_at, checks = _cache.get("last", (float("-inf"), {}))
        if time.monotonic() - taken_at < max_age:
            return checks
        # Why under the lock: concurrent probes wait for the one refresh instead of each running it.
        started = time.monotonic()  # the answer's age counts from when its checks began
        checks = run_checks()
        _cache["last"] = (started, checks)
        return checks
