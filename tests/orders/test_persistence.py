"""Persisting the reservation stream: batches, redelivery, concurrent persisters, a killed worker."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from config.redis import get_redis
from inventory.models import Stock
from inventory.redis_schema import CONSUMER_GROUP, sale_keys
from orders import stream_consumer
from orders.models import Order, OrderStatus
from orders.services import reservation_persist_batch, reservations_drain
from orders.tasks import reservations_drain_task
from tests.factories import UserFactory, live_sale, users
from tests.helpers import assert_invariants, buy, client_for, on_each_redis, real_db, redis_stock, stream_len
from tests.support.processes import start_worker

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _buy_many(sale, n_users: int, prefix="p") -> list[str]:
    rids = []
    for user in users(n_users, prefix=prefix):
        response = buy(client_for(user), sale.pk)
        assert response.status_code == 202
        rids.append(response.json()["reservation_id"])
    return rids


def test_a_drain_writes_every_reservation_once_in_batches():
    sale = live_sale(quantity=50, limit=1)
    rids = _buy_many(sale, 30)
    result = reservations_drain(sale_id=sale.pk, count=7)
    assert result.handled == 30
    assert not result.exhausted
    assert set(Order.objects.using("default").values_list("reservation_id", flat=True)) == set(rids)
    assert Stock.objects.get(sku=sale.sku).sold == 30
    assert_invariants(sale, accepted_units=30)


def test_the_same_entries_persisted_twice_concurrently_make_one_order_each():
    sale = live_sale(quantity=100, limit=1)
    _buy_many(sale, 40)
    r, keys = get_redis(), sale_keys(sale.pk)
    # Deliver all entries to consumer "a", then let two threads both process a's pending entries.
    r.xreadgroup(CONSUMER_GROUP, "a", {keys.stream: ">"}, count=1000)
    barrier = threading.Barrier(2)
    errors = []

    def persist():
        try:
            barrier.wait()
            reservation_persist_batch(sale_id=sale.pk, consumer="a", count=1000)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=persist) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert Order.objects.using("default").count() == 40
    assert Stock.objects.get(sku=sale.sku).sold == 40
    # Run once more: a redelivery of settled entries changes nothing.
    assert reservation_persist_batch(sale_id=sale.pk, consumer="a", count=1000) == 0
    assert_invariants(sale, accepted_units=40)


def test_a_reservation_the_db_stock_cannot_cover_fails_visibly_and_its_stock_returns():
    sale = live_sale(quantity=5, limit=1, sku_total=5)
    rids = _buy_many(sale, 5)
    Stock.objects.filter(sku=sale.sku).update(sold=3)  # another channel sold 3 of the SKU meanwhile
    reservations_drain(sale_id=sale.pk)
    orders = Order.objects.using("default").order_by("id")
    assert [o.status for o in orders].count(OrderStatus.PENDING_PAYMENT) == 2
    failed = [o for o in orders if o.status == OrderStatus.FAILED]
    assert len(failed) == 3
    assert all(o.failure_reason == "out_of_stock" for o in failed)
    assert all(o.stock_returned for o in failed)
    assert redis_stock(sale.pk) == 3  # the three failed units are back
    client = client_for(failed[0].user)
    status = client.get(f"/api/reservations/{failed[0].reservation_id}").json()
    assert status == {
        "reservation_id": failed[0].reservation_id,
        "status": "failed",
        "order_number": str(failed[0].number),
        "reason": "out_of_stock",
    }
    assert set(rids) == set(o.reservation_id for o in orders)


def test_a_malformed_entry_is_parked_and_does_not_block_the_stream():
    sale = live_sale(quantity=10, limit=1)
    keys = sale_keys(sale.pk)
    get_redis().xadd(keys.stream, {"rid": "garbage", "user": "x"})
    _buy_many(sale, 3)
    reservations_drain(sale_id=sale.pk)
    assert Order.objects.using("default").count() == 3
    assert stream_len(sale.pk) == 0
    assert get_redis().hlen(keys.dead_letters) == 1


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_its_entries_to_be_reclaimed_and_persisted_once(tmp_path):
    sale = live_sale(quantity=200, limit=1)
    rids = _buy_many(sale, 120)
    # Hold the stock row: the worker's batch transaction blocks on its guarded UPDATE, mid-batch.
    blocker = connections.create_connection("default")
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("SELECT sold FROM inventory_stock WHERE sku_id = %s FOR UPDATE", [sale.sku_id])
    worker = start_worker(tmp_path, concurrency=1, name="doomed")
    try:
        reservations_drain_task.delay(sale.pk)
        deadline = time.monotonic() + 20
        keys = sale_keys(sale.pk)
        while get_redis().xpending(keys.stream, CONSUMER_GROUP)["pending"] == 0:
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.05)
        time.sleep(0.3)  # the batch is read and its transaction is waiting on our lock
        worker.kill()  # SIGKILL to the whole process group: main process and its child
    finally:
        blocker.rollback()
        blocker.close()
    assert Order.objects.using("default").count() == 0
    assert get_redis().xpending(keys.stream, CONSUMER_GROUP)["pending"] > 0

    survivor = start_worker(tmp_path, concurrency=1, name="survivor")
    try:
        started = time.monotonic()
        reservations_drain_task.delay(sale.pk)
        while stream_len(sale.pk):
            assert time.monotonic() - started < 30, survivor.tail()
            time.sleep(0.1)
            if time.monotonic() - started > 2:
                reservations_drain_task.delay(sale.pk)  # what the beat sweep does every second
    finally:
        survivor.stop()
    assert sorted(Order.objects.using("default").values_list("reservation_id", flat=True)) == sorted(rids)
    assert_invariants(sale, accepted_units=120)


def test_an_entry_the_database_refuses_is_isolated_parked_and_its_neighbours_persist(monkeypatch):
    from django.db import DataError

    from orders import bulk

    sale = live_sale(quantity=100, limit=1)
    rids = _buy_many(sale, 13)
    victim = rids[6]
    real = bulk.insert_orders

    def refusing(*, entries, **kwargs):  # the database refuses this one reservation, every time
        if any(e.reservation_id == victim for e in entries):
            raise DataError("Out of range value")
        return real(entries=entries, **kwargs)

    monkeypatch.setattr(bulk, "insert_orders", refusing)
    reservations_drain(sale_id=sale.pk)
    assert Order.objects.using("default").count() == 12
    assert stream_len(sale.pk) == 0
    assert victim in next(iter(get_redis().hvals(sale_keys(sale.pk).dead_letters)))
    owner = client_for(UserFactory._meta.model.objects.get(username="p6"))
    assert owner.get(f"/api/reservations/{victim}").json() == {
        "reservation_id": victim,
        "status": "failed",
        "order_number": None,
        "reason": "unprocessable",
    }
    assert redis_stock(sale.pk) == 100 - 12  # the refused reservation's unit went back
    assert_invariants(sale, accepted_units=12)


def test_an_entry_delivered_too_often_is_given_up_visibly(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "PERSIST_MAX_DELIVERIES": 2}
    sale = live_sale(quantity=10, limit=1)
    shopper = UserFactory()
    client = client_for(shopper)
    rid = buy(client, sale.pk).json()["reservation_id"]
    keys = sale_keys(sale.pk)
    # Delivered, then re-claimed by two more workers, each of which died before settling.
    get_redis().xreadgroup(CONSUMER_GROUP, "crashy-1", {keys.stream: ">"}, count=10)
    for n in (2, 3):
        get_redis().xautoclaim(keys.stream, CONSUMER_GROUP, f"crashy-{n}", 0, "0-0", count=10)
    assert reservation_persist_batch(sale_id=sale.pk, consumer="crashy-3", count=10) == 1
    assert Order.objects.using("default").count() == 0
    assert stream_len(sale.pk) == 0
    assert client.get(f"/api/reservations/{rid}").json()["status"] == "failed"
    assert redis_stock(sale.pk) == 10  # its unit went back


def test_a_batch_that_failed_before_settling_is_taken_up_again_by_the_next_drain_at_once(monkeypatch):
    from django.db import OperationalError

    from orders import services

    sale = live_sale(quantity=10, limit=1)
    rids = _buy_many(sale, 4)
    real = services._write_with_retries

    def database_away(sale_, entries, **_):
        raise OperationalError(2002, "Can't connect to server")

    monkeypatch.setattr(services, "_write_with_retries", database_away)
    with pytest.raises(OperationalError):
        reservations_drain(sale_id=sale.pk)  # read with ">", then the write failed: pending, unsettled
    monkeypatch.setattr(services, "_write_with_retries", real)
    assert reservations_drain(sale_id=sale.pk).handled == 4  # its own pending first, not after a re-claim
    assert sorted(Order.objects.using("default").values_list("reservation_id", flat=True)) == sorted(rids)
    assert_invariants(sale, accepted_units=4)


def test_an_entry_seen_for_the_first_time_whose_order_exists_is_not_written_twice():
    sale = live_sale(quantity=10, limit=1)
    rids = _buy_many(sale, 3)
    r, keys = get_redis(), sale_keys(sale.pk)
    fields = r.xrange(keys.stream, count=1)[0][1]
    reservations_drain(sale_id=sale.pk)
    # The same reservation once more in the stream (as a replayed log would hold it): read with ">",
    # it skips the lookup of known reservations; the unique reservation_id makes the retry look.
    r.xadd(keys.stream, fields)
    r.hincrby(keys.meta, "inflight", 1)
    assert reservations_drain(sale_id=sale.pk).handled == 1
    orders = Order.objects.using("default").filter(sale=sale)
    assert orders.count() == 3
    assert sorted(orders.values_list("reservation_id", flat=True)) == sorted(rids)
    assert Stock.objects.using("default").get(sku=sale.sku).sold == 3
    assert (
        client_for(orders.get(reservation_id=fields["rid"]).user)
        .get(f"/api/reservations/{fields['rid']}")
        .json()["status"]
        == "created"
    )
    assert_invariants(sale, accepted_units=3)


def test_a_purchase_made_as_the_last_drain_ends_is_persisted_without_waiting_for_beat(settings, monkeypatch):
    settings.FLASHSALE = {**settings.FLASHSALE, "KICK_DEBOUNCE_MS": 60_000}  # the first wake-up's key outlives the test
    sale = live_sale(quantity=10, limit=1)
    _buy_many(sale, 1, prefix="first")
    keys = sale_keys(sale.pk)
    real = stream_consumer.wakeup_debounce_clear
    late = []

    def purchase_just_before_the_debounce_is_cleared(*, sale_id, bucket=0):
        if not late:  # the drain has just read an empty stream; a purchase lands now, and its wake-up is debounced
            late.extend(_buy_many(sale, 1, prefix="late"))
            assert get_redis().exists(keys.wakeup_debounce)  # so no persister was woken for it
        real(sale_id=sale_id, bucket=bucket)

    monkeypatch.setattr(stream_consumer, "wakeup_debounce_clear", purchase_just_before_the_debounce_is_cleared)
    assert reservations_drain(sale_id=sale.pk).handled == 2  # the drain read once more after clearing it
    assert stream_len(sale.pk) == 0
    assert Order.objects.using("default").filter(reservation_id=late[0]).exists()
    assert not get_redis().exists(keys.wakeup_debounce)
    _buy_many(sale, 1, prefix="next")
    assert get_redis().exists(keys.wakeup_debounce)  # the next purchase woke a persister again
