"""Tools of the fault tests: the app as real processes, shoppers over HTTP, waiting, and figures.

Every fault test runs the app the way production does: gunicorn (gthread) for the API, a Celery
prefork worker for the persister, optionally Celery beat, all as subprocesses on the test stack
(tests/support/stack.py) unless a test points them at a server of its own through the env.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from celery import Celery
from requests.adapters import HTTPAdapter
from rest_framework.authtoken.models import Token
from urllib3.util.retry import Retry

from devstack import RedisServer
from orders.models import Order
from tests.factories import users
from tests.faults.figures import figure, note  # noqa: F401 (figure is re-exported for the tests)
from tests.helpers import stream_len
from tests.support.processes import BIN, Proc, start_gunicorn, start_worker

# Production defaults stay on (rate limits included), with limits no shopper of a test reaches.
# The captcha is off as in load tests: it is not what these tests break.
APP_ENV = {
    "FLASHSALE_CAPTCHA_REQUIRED": "false",
    "ALLOW_LOAD_TEST_SWITCHES": "true",  # DEBUG is off: the switch above needs it
    "FLASHSALE_RATE_USER": "1000/s",
    "FLASHSALE_RATE_IP": "100000/s",
}

# --- processes ---------------------------------------------------------------------------------


class App:
    """gunicorn, Celery worker(s) and beat for one test; all stopped at the end of the test."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[Proc] = []

    def web(self, env: dict | None = None, workers: int = 2, threads: int = 8) -> str:
        proc, base = start_gunicorn(self.tmp, workers=workers, threads=threads, env={**APP_ENV, **(env or {})})
        self.procs.append(proc)
        self.web_proc = proc
        return base

    def worker(self, env: dict | None = None, name: str = "w", concurrency: int = 1) -> Proc:
        proc = start_worker(self.tmp, concurrency=concurrency, env={**APP_ENV, **(env or {})}, name=name)
        self.procs.append(proc)
        return proc

    def beat(self, env: dict | None = None) -> Proc:
        log = self.tmp / "celery-beat.log"
        full = {**os.environ, "PYTHONUNBUFFERED": "1", **APP_ENV, **(env or {})}
        full.pop("PYTEST_CURRENT_TEST", None)
        proc = Proc(
            [
                str(BIN / "celery"),
                "-A",
                "config.celery_app",
                "beat",
                "--loglevel",
                "INFO",
                "-s",
                str(self.tmp / "celerybeat-schedule"),
            ],
            log,
            full,
        )
        self.procs.append(proc)
        wait_until(lambda: "beat: Starting" in log.read_text(errors="replace") or not proc.alive(), 30, "beat start")
        assert proc.alive(), proc.tail()
        return proc

    def stop(self) -> None:
        import signal

        for proc in self.procs:  # all at once: each takes a second or two to shut down cleanly
            if proc.alive():
                proc.signal_group(signal.SIGTERM)
        for proc in reversed(self.procs):
            proc.stop()


def worker_children(proc: Proc) -> list[int]:
    """PIDs of a prefork worker's pool processes (from /proc: no extra dependency)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == proc.pid:
            children.append(int(stat.parent.name))
    return children


class SlowLoadingRedis(RedisServer):
    """RedisServer with Redis's own test knob ``key-load-delay`` (microseconds per loaded command).

    Why: a small AOF reloads in milliseconds, too fast to aim HTTP requests at. The delay makes the
    real LOADING state of a real restart last seconds; nothing else about the server changes.
    """

    def __init__(self, workdir: Path, *, key_load_delay_us: int, **kwargs):
        super().__init__(workdir, **kwargs)
        self.key_load_delay_us = key_load_delay_us

    def _argv(self) -> list[str]:
        return [*super()._argv(), "--key-load-delay", str(self.key_load_delay_us)]


def hold_stock_row(sku_id: int):
    """A transaction holding the SKU's stock row: a worker's batch then blocks on its guarded UPDATE,
    mid-transaction (its orders inserted, not committed). ``.rollback()``/``.close()`` releases it."""
    from django.db import connections

    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT sold FROM inventory_stock WHERE sku_id = %s FOR UPDATE", [sku_id])
    return blocker


# --- shoppers over HTTP ---------------------------------------------------------------------------


@dataclass
class Shopper:
    user_id: int
    key: str
    token: str | None = None  # a purchase token fetched ahead of time
    outcomes: list = field(default_factory=list)

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.key}"
        # Like a browser: an idle keep-alive connection the server has just closed (gunicorn closes
        # them after 2 s) is retried for a GET. A POST is never resent (only a failed connect is).
        retry = Retry(total=2, connect=2, read=2, status=0, allowed_methods=frozenset({"GET"}), raise_on_status=False)
        session.mount("http://", HTTPAdapter(max_retries=retry))
        return session


def make_shoppers(n: int, prefix: str) -> list[Shopper]:
    people = users(n, prefix=prefix)
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in people])
    rows = Token.objects.using("default").filter(user__in=people).values_list("user_id", "key").order_by("user_id")
    return [Shopper(user_id, key) for user_id, key in rows]


def outcome(response: requests.Response | None, stage: str) -> tuple[str, int, str]:
    """(stage, HTTP status, error code or reservation id)."""
    if response is None:
        return stage, 0, "no_answer"
    try:
        body = response.json()
    except ValueError:
        body = {}
    return stage, response.status_code, body.get("code") or body.get("reservation_id") or ""


def fetch_token(base: str, sale_id: int, shopper: Shopper, session: requests.Session | None = None) -> tuple:
    session = session or shopper.session()
    try:
        response = session.post(f"{base}/api/sales/{sale_id}/token", json={}, timeout=15)
    except requests.RequestException:
        return outcome(None, "token")
    if response.status_code == 200:
        shopper.token = response.json()["token"]
    return outcome(response, "token")


def purchase(base: str, sale_id: int, shopper: Shopper, session: requests.Session | None = None, qty: int = 1) -> tuple:
    """A purchase with the shopper's pre-fetched token, or a fresh one."""
    session = session or shopper.session()
    if shopper.token is None:
        got = fetch_token(base, sale_id, shopper, session)
        if got[1] != 200:
            return got
    try:
        response = session.post(
            f"{base}/api/sales/{sale_id}/purchase", json={"token": shopper.token, "quantity": qty}, timeout=15
        )
    except requests.RequestException:
        return outcome(None, "purchase")
    if response.status_code != 503:
        shopper.token = None  # spent (a 503 never reached the script, so the token is still good)
    return outcome(response, "purchase")


def buy_all(base: str, sale_id: int, shoppers: list[Shopper], parallel: int = 16) -> Counter:
    """One purchase per shopper, ``parallel`` at a time; the 202s are kept on each shopper."""

    def one(shopper: Shopper):
        session = shopper.session()
        for attempt in range(1, 4):
            result = purchase(base, sale_id, shopper, session)
            shopper.outcomes.append(result)
            if (result[1], result[2]) != (503, "sale_unavailable") or attempt == 3:
                break
            # A shopper told "try again shortly" tries again. Outside a fault this should not happen:
            # it is noted, so that the figures show it.
            note(f"transient 503 sale_unavailable at the {result[0]} step with every service up (retried)")
            time.sleep(0.2)
        return result[:2] if result[1] != 202 else ("accepted", 202)

    with ThreadPoolExecutor(parallel) as pool:
        return Counter(pool.map(one, shoppers))


def accepted_rids(shoppers: list[Shopper]) -> list[str]:
    return [o[2] for s in shoppers for o in s.outcomes if o[0] == "purchase" and o[1] == 202]


class Storm:
    """Shoppers buying in background threads until stopped; every answer is recorded with its time."""

    def __init__(
        self,
        base: str,
        sale_id: int,
        shoppers: list[Shopper],
        threads: int = 4,
        pause: float = 0.02,
        retry_503: bool = True,
    ):
        self.base, self.sale_id, self.pause, self.retry_503 = base, sale_id, pause, retry_503
        self.todo = list(shoppers)
        self.answers: list[tuple[float, tuple]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Storm:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _next(self) -> Shopper | None:
        with self._lock:
            return self.todo.pop(0) if self.todo else None

    def _run(self) -> None:
        while not self._stop.is_set():
            shopper = self._next()
            if shopper is None:
                return
            session = shopper.session()
            while not self._stop.is_set():
                started = time.monotonic()
                result = purchase(self.base, self.sale_id, shopper, session)
                shopper.outcomes.append(result)
                with self._lock:
                    self.answers.append((time.monotonic(), result, time.monotonic() - started))
                if not (self.retry_503 and result[1] in (0, 503)):
                    break
                time.sleep(self.pause)  # a shopper told "try again shortly" tries again
            time.sleep(self.pause)

    def between(self, start: float, end: float) -> list[tuple]:
        with self._lock:
            return [r for t, r, _ in self.answers if start <= t <= end]

    def latencies(self, start: float, end: float) -> list[float]:
        with self._lock:
            return sorted(dt for t, _, dt in self.answers if start <= t <= end)


def server_errors(answers) -> list[tuple]:
    """Answers that are 5xx but not the deliberate 503 sale_unavailable, or no answer at all."""
    return [a for a in answers if a[1] == 0 or (a[1] >= 500 and (a[1], a[2]) != (503, "sale_unavailable"))]


# --- waiting ------------------------------------------------------------------------------------


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def kicker(broker_url: str | None = None):
    """``reservations_drain_task`` for a sale, published like beat's sweep (to our worker's queue)."""
    queue = os.environ["CELERY_QUEUE"]
    if broker_url is None:
        from orders.tasks import reservations_drain_task

        return lambda sale_id: reservations_drain_task.apply_async((sale_id,), queue=queue)
    app = Celery("fault-kicker", broker=broker_url)
    return lambda sale_id: app.send_task("orders.persist_reservations", args=[sale_id], queue=queue)


def wait_persisted(sale, expected_orders: int, *, timeout: float = 60, kick=None, kick_every: float = 1.0) -> float:
    """Wait until the sale has ``expected_orders`` orders and an empty stream; returns when the
    orders were all there (time.monotonic()). ``kick`` is called every ``kick_every`` s, as beat does."""
    deadline = time.monotonic() + timeout
    orders_done_at = None
    next_kick = 0.0
    while True:
        now = time.monotonic()
        count = Order.objects.using("default").filter(sale=sale).count()
        if count >= expected_orders and orders_done_at is None:
            orders_done_at = now
        if orders_done_at is not None and stream_len(sale.pk) == 0:
            return orders_done_at
        assert now < deadline, (
            f"not drained after {timeout}s: {count}/{expected_orders} orders, stream {stream_len(sale.pk)}"
        )
        if kick is not None and now >= next_kick:
            kick(sale.pk)
            next_kick = now + kick_every
        time.sleep(0.05)


def wait_settled(sale, *, timeout: float = 60, kick=None, kick_every: float = 1.0) -> tuple[float, float | None]:
    """Wait until the sale's stream is empty (every entry persisted or given up).

    Returns (when it emptied, when the last new order appeared or None), both time.monotonic().
    """
    deadline = time.monotonic() + timeout
    last_count, last_order_at, next_kick = Order.objects.using("default").filter(sale=sale).count(), None, 0.0
    while True:
        now = time.monotonic()
        count = Order.objects.using("default").filter(sale=sale).count()
        if count != last_count:
            last_count, last_order_at = count, now
        if stream_len(sale.pk) == 0:
            return now, last_order_at
        assert now < deadline, f"stream not empty after {timeout}s: {stream_len(sale.pk)} entries, {count} orders"
        if kick is not None and now >= next_kick:
            kick(sale.pk)
            next_kick = now + kick_every
        time.sleep(0.05)


def reservation_statuses(sale_id: int, rids: list[str]) -> Counter:
    """How each reservation ended, as the shopper's status endpoint would say (from Redis)."""
    from config.redis import get_redis
    from inventory.redis_schema import sale_keys

    pipe = get_redis().pipeline(transaction=False)
    for rid in rids:
        pipe.hgetall(sale_keys(sale_id).reservation(rid))
    return Counter(f"{d.get('status')}:{d.get('reason', '')}".rstrip(":") for d in pipe.execute())
