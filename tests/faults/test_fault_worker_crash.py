"""Rows 1 and 8: a persister dies mid-batch (a prefork child SIGKILLed) or between commit and XACK.

The whole-worker SIGKILL is tests/orders/test_persistence.py::
test_a_worker_killed_mid_batch_leaves_its_entries_to_be_reclaimed_and_persisted_once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import OperationalError

from config.redis import get_redis
from inventory.models import Stock
from inventory.redis_schema import sale_keys
from orders import services
from orders.models import Order
from orders.services import reservation_persist_batch
from tests.factories import live_sale, users
from tests.faults.kit import (
    accepted_rids,
    buy_all,
    figure,
    hold_stock_row,
    kicker,
    make_shoppers,
    reservation_statuses,
    wait_persisted,
    wait_until,
    worker_children,
)
from tests.helpers import assert_invariants, buy, client_for, pending_count, real_db, stream_len
from tests.support.processes import ROOT

pytestmark = [real_db, pytest.mark.faults]


@pytest.mark.slow
def test_a_worker_child_killed_mid_batch_is_replaced_and_its_entries_persist_once(tmp_path, app):
    sale = live_sale(quantity=200, limit=1)
    shoppers = make_shoppers(120, "k")
    base = app.web()
    worker = app.worker(concurrency=1)
    blocker = hold_stock_row(sale.sku_id)  # the child's batch blocks on its guarded UPDATE, mid-transaction
    try:
        assert buy_all(base, sale.pk, shoppers) == Counter({("accepted", 202): 120})
        wait_until(lambda: pending_count(sale.pk) > 0, 20, "the worker to read a batch")
        time.sleep(0.3)
        [child] = worker_children(worker)
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        blocker.rollback()
        blocker.close()
    wait_until(lambda: [c for c in worker_children(worker) if c != child], 20, "prefork to replace the child")
    assert worker.alive()
    recovered_at = wait_persisted(sale, 120, kick=kicker(), timeout=60)  # kicks: beat's sweep, every second
    rids = accepted_rids(shoppers)
    assert sorted(Order.objects.using("default").filter(sale=sale).values_list("reservation_id", flat=True)) == sorted(
        rids
    )
    assert_invariants(sale, accepted_units=120)
    log = worker.log.read_text(errors="replace")
    assert "WorkerLostError" in log or "exited with 'signal 9" in log, worker.tail()
    figure(
        1,
        f"prefork child SIGKILLed mid-batch: main process survived, child replaced; lost 0 of 120, "
        f"duplicates 0; time to recovery {recovered_at - killed_at:.1f} s (kill to last order; entries "
        f"re-claimed after FLASHSALE_PERSIST_CLAIM_IDLE_MS=1500 in tests, 30000 by default)",
    )


CRASH_AFTER_COMMIT = """
import os, sys
import django
django.setup()
from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from inventory.redis_schema import stream_entry_parse
from orders import services, stream_consumer
sale_id, count = int(sys.argv[1]), int(sys.argv[2])
batch = stream_consumer.read_batch(sale_id=sale_id, consumer="crashes-after-commit", count=count)
entries = [stream_entry_parse(entry_id, fields) for entry_id, fields in batch.entries]
with pinned_to_primary():
    sale = FlashSale.objects.using("default").get(pk=sale_id)
    outcomes = services._write_with_retries(sale, entries, first_delivery=batch.first_delivery)
print("committed", len(outcomes), flush=True)
os._exit(1)  # dies between the commit and settle.lua: no XACK, no status, in-flight counter untouched
"""


def test_a_crash_between_commit_and_xack_makes_no_duplicate_on_redelivery(tmp_path, app):
    sale = live_sale(quantity=100, limit=1)
    shoppers = make_shoppers(40, "c")
    base = app.web()  # no worker yet: the purchases wait in the stream
    assert buy_all(base, sale.pk, shoppers) == Counter({("accepted", 202): 40})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_CURRENT_TEST", None)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_COMMIT, str(sale.pk), "40"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == 1, crashed.stdout + crashed.stderr
    assert "committed 40" in crashed.stdout, crashed.stdout + crashed.stderr
    # Committed in the DB, unsettled in Redis: the state a crash between the two leaves.
    assert Order.objects.using("default").filter(sale=sale).count() == 40
    assert Stock.objects.using("default").get(sku=sale.sku).sold == 40
    assert pending_count(sale.pk) == 40
    assert stream_len(sale.pk) == 40
    keys = sale_keys(sale.pk)
    assert int(get_redis().hget(keys.meta, "inflight")) == 40

    app.worker()
    started = time.monotonic()
    wait_persisted(sale, 40, kick=kicker(), timeout=60)  # settled once the entries are re-claimed
    settled_in = time.monotonic() - started
    orders = Order.objects.using("default").filter(sale=sale)
    assert orders.count() == 40
    assert orders.values("reservation_id").distinct().count() == 40
    assert Stock.objects.using("default").get(sku=sale.sku).sold == 40
    assert reservation_statuses(sale.pk, accepted_rids(shoppers)) == Counter({"created": 40})
    stats = get_redis().hgetall(keys.stats)
    assert int(stats["orders_created"]) == 40
    assert "orders_failed" not in stats
    owner = shoppers[0]
    rid = accepted_rids([owner])[0]
    shown = owner.session().get(f"{base}/api/reservations/{rid}", timeout=10).json()
    assert shown["order_number"] == str(orders.get(reservation_id=rid).number)
    assert_invariants(sale, accepted_units=40)
    figure(
        8,
        f"crash after commit, before XACK (40 entries): duplicates 0, DB sold 40 (not 80), in flight back to 0, "
        f"orders_created counter 40; settled {settled_in:.1f} s after a worker started (re-claim idle 1.5 s in tests)",
    )


@pytest.mark.usefixtures("no_captcha", "no_rate_limits")
def test_attempts_that_fail_because_the_database_is_away_do_not_use_up_an_entry_s_deliveries(monkeypatch):
    """Bug found by the primary-killed fault test (fixed in orders/stream_consumer.py): retries during a DB
    outage re-read the consumer's pending entries with XREADGROUP 0, which counted as deliveries, and
    PERSIST_MAX_DELIVERIES failed attempts gave healthy reservations up. Deterministic, in process."""
    sale = live_sale(quantity=10, limit=1)
    rids = [buy(client_for(user), sale.pk).json()["reservation_id"] for user in users(3, prefix="t")]
    real = services._write_with_retries

    def database_away(sale_, entries, **_):
        raise OperationalError(2002, "Can't connect to server on '127.0.0.1' (115)")

    monkeypatch.setattr(services, "_write_with_retries", database_away)
    for _ in range(settings.FLASHSALE["PERSIST_MAX_DELIVERIES"]):  # the task retries while the primary is down
        with pytest.raises(OperationalError):  # (a task may retry 8 times: 1+2+4+8 s of backoff reach this)
            reservation_persist_batch(sale_id=sale.pk, consumer="w1", count=10)
    monkeypatch.setattr(services, "_write_with_retries", real)
    reservation_persist_batch(sale_id=sale.pk, consumer="w1", count=10)  # the primary is back
    assert reservation_statuses(sale.pk, rids) == Counter({"created": 3})
