"""Row 3: Redis SIGKILLed mid-sale and restarted, with AOF everysec and without persistence.

The app runs as real processes (gunicorn + a Celery worker) on a redis-server of the test's own,
so the suite's shared Redis is never touched.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack import RedisServer
from orders.models import Order
from reconciliation.preheat import sale_preheat
from tests.factories import live_sale
from tests.faults.kit import (
    SlowLoadingRedis,
    Storm,
    accepted_rids,
    buy_all,
    figure,
    hold_stock_row,
    kicker,
    make_shoppers,
    purchase,
    server_errors,
    wait_persisted,
    wait_until,
)
from tests.helpers import assert_invariants, pending_count, real_db, redis_stock, stream_len

pytestmark = [real_db, pytest.mark.faults, pytest.mark.slow]
DUMMY_KEYS = 20000  # with key-load-delay, what makes the AOF reload last a few seconds
LOAD_DELAY_US = 40


def _fill(server: RedisServer, n: int) -> None:
    """Unrelated keys, so the AOF has something to reload (as a production Redis would)."""
    client = redis.Redis.from_url(server.url)
    client.eval("for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'dummy:' .. i, 'x') end", 0, n)
    client.close()


class LoadingProbe:
    """PINGs a restarting Redis every 20 ms and notes when it answered LOADING."""

    def __init__(self, port: int):
        self.client = redis.Redis(
            host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        self.first = self.last = None
        self.sightings = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.ping()
            except redis.BusyLoadingError:
                self.last = time.monotonic()
                self.sightings += 1
                self.first = self.first or self.last
            except redis.ConnectionError:
                pass
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self.client.close()


def test_redis_killed_with_aof_everysec_loses_nothing_and_answers_503_while_loading(tmp_path, app, use_redis):
    server = SlowLoadingRedis(
        tmp_path / "redis", appendonly=True, appendfsync="everysec", key_load_delay_us=LOAD_DELAY_US
    ).start()
    try:
        use_redis(server)
        _fill(server, DUMMY_KEYS)
        sale = live_sale(quantity=400, limit=1)
        env = {"REDIS_URL": server.url}
        base = app.web(env)
        app.worker(env)
        kick = kicker()
        before, in_flight, during = (make_shoppers(60, "a"), make_shoppers(60, "b"), make_shoppers(60, "c"))

        # 1. Bought and persisted before the crash.
        assert buy_all(base, sale.pk, before) == Counter({("accepted", 202): 60})
        wait_persisted(sale, 60, kick=kick)
        # 2. Bought while the worker's batch is stuck mid-transaction: in the stream, unsettled, when Redis dies.
        blocker = hold_stock_row(sale.sku_id)
        try:
            assert buy_all(base, sale.pk, in_flight) == Counter({("accepted", 202): 60})
            kick(sale.pk)
            wait_until(lambda: pending_count(sale.pk) > 0, 20, "the worker to read a batch")
            time.sleep(0.3)
            for s in during:  # tokens taken before the crash: these shoppers buy during the reload
                s.token = s.session().post(f"{base}/api/sales/{sale.pk}/token", json={}, timeout=10).json()["token"]
            time.sleep(1.1)  # AOF everysec: let one fsync pass (SIGKILL loses nothing already written anyway)
            server.kill()
        finally:
            blocker.rollback()  # the batch commits now, then fails to settle: Redis is gone
            blocker.close()
        time.sleep(1.0)

        # 3. Restart: purchases during the reload must be 503 sale_unavailable, never 500, never sold_out.
        with LoadingProbe(server.port) as probe, Storm(base, sale.pk, during, threads=6, pause=0.05) as storm:
            time.sleep(0.5)  # answers while Redis is down
            restart_at = time.monotonic()
            server.start(timeout=60)  # returns on the first PONG, i.e. when LOADING is over
            ready_at = time.monotonic()
            wait_until(
                lambda: not storm.todo and all(s.outcomes and s.outcomes[-1][1] != 503 for s in during),
                30,
                "the storm's shoppers to get an answer other than 503",
            )
        assert probe.first, "the restart never answered LOADING: the test proved nothing about it"
        assert probe.last, "the restart never answered LOADING: the test proved nothing about it"
        while_down = storm.between(0, restart_at)
        while_loading = storm.between(probe.first, probe.last)
        everything = [o for s in during for o in s.outcomes]
        codes = Counter((o[1], o[2]) if o[1] != 202 else (202, "accepted") for o in everything)
        assert not server_errors(everything), codes
        assert not [o for o in everything if o[2] == "sold_out"], codes
        assert while_down, Counter(a[:2] for a in while_down)
        assert all(a[1:] == (503, "sale_unavailable") for a in while_down), Counter(a[:2] for a in while_down)
        assert while_loading, Counter(a[:2] for a in while_loading)
        assert all(a[1:] == (503, "sale_unavailable") for a in while_loading), Counter(a[:2] for a in while_loading)

        # 4. Nothing lost: every 202 ends as an order; the stream kept the unsettled ones.
        rids = accepted_rids(before + in_flight + during)
        assert len(rids) == 180
        recovered_at = wait_persisted(sale, 180, kick=kick, timeout=60)
        assert sorted(
            Order.objects.using("default").filter(sale=sale).values_list("reservation_id", flat=True)
        ) == sorted(rids)
        assert_invariants(sale, accepted_units=180)
        figure(
            3,
            f"AOF everysec, SIGKILL with 60 reservations unsettled: lost 0 of 180, duplicates 0, "
            f"5xx other than 503 0; LOADING seen for {probe.last - probe.first:.1f} s: "
            f"{len(while_loading)} purchases answered in it, all 503 sale_unavailable; "
            f"{len(while_down)} answered while down, all 503; time to recovery {recovered_at - ready_at:.1f} s "
            f"(ready to last order)",
        )
    finally:
        server.stop()


def test_redis_restarted_empty_without_persistence_is_unavailable_until_re_preheated(tmp_path, app, use_redis):
    server = RedisServer(tmp_path / "redis", appendonly=False).start()
    try:
        use_redis(server)
        sale = live_sale(quantity=100, limit=1)
        env = {"REDIS_URL": server.url}
        base = app.web(env)
        worker = app.worker(env, name="w1")
        kick = kicker()
        persisted, in_flight, after = make_shoppers(40, "a"), make_shoppers(20, "b"), make_shoppers(10, "c")
        assert buy_all(base, sale.pk, persisted) == Counter({("accepted", 202): 40})
        wait_persisted(sale, 40, kick=kick)
        worker.stop()  # the next 20 stay in the stream: in flight when Redis dies
        assert buy_all(base, sale.pk, in_flight) == Counter({("accepted", 202): 20})
        assert stream_len(sale.pk) == 20

        server.kill()
        server.start()  # empty: nothing was persisted

        # Unavailable, never sold out (at the token step: tokens are only issued for a preheated sale).
        answers = [purchase(base, sale.pk, s) for s in after[:5]]
        assert {(a[1], a[2]) for a in answers} == {(503, "sale_unavailable")}, answers
        assert app_get(base, after[0], f"/api/sales/{sale.pk}/")["remaining"] is None

        plan = sale_preheat(sale_id=sale.pk)
        db_sold = Order.objects.using("default").filter(sale=sale).count()
        assert plan.rebuild
        assert plan.inflight == 0
        assert db_sold == 40
        assert plan.stock == 60
        assert redis_stock(sale.pk) == plan.stock
        assert plan.stock == sale.quantity - db_sold - plan.inflight
        # The in-flight reservations died with the non-persistent Redis: no order, no status.
        lost = [
            rid
            for rid in accepted_rids(in_flight)
            if not Order.objects.using("default").filter(reservation_id=rid).exists()
        ]
        assert len(lost) == 20
        assert in_flight[0].session().get(f"{base}/api/reservations/{lost[0]}", timeout=10).status_code == 404

        # Selling resumes with the right stock and the rebuilt per-user counts.
        again = purchase(base, sale.pk, persisted[0])
        assert again[1:] == (409, "limit_reached"), again
        app.worker(env, name="w2")
        assert buy_all(base, sale.pk, after) == Counter({("accepted", 202): 10})
        wait_persisted(sale, 50, kick=kick)
        assert_invariants(sale, accepted_units=50)
        figure(
            3,
            "no persistence: after the restart purchases 503 sale_unavailable (0 sold_out); re-preheat "
            f"stock {plan.stock} = {sale.quantity} - {db_sold} DB sold - {plan.inflight} in flight; "
            f"lost {len(lost)} accepted reservations that were in flight (why production runs AOF)",
        )
    finally:
        server.stop()


def app_get(base: str, shopper, path: str) -> dict:
    response = shopper.session().get(f"{base}{path}", timeout=10)
    assert response.status_code == 200, response.content
    return response.json()
