"""The waiting room on real Redis: places, the shuffle, FIFO, admission, lapses, the stock."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from config.redis import get_redis
from flashsale import queue
from inventory.redis_schema import sale_keys
from orders import lifecycle
from orders.models import Order
from orders.services import reservations_drain
from reconciliation.preheat import sale_preheat
from tests.factories import SaleFactory, UserFactory, users
from tests.helpers import buy, client_for, on_each_redis, real_db
from tests.support.db_clock import db_clock_shifted
from tests.support.queue import queue_sale, start_now, wait_for

# The tests of the line's scripts run on one Redis and on a Redis Cluster (on_each_redis); the
# timing and statistics tests on one Redis only (what they measure is not the slot layout).
pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]
CHI2_9_DOF_P001 = 27.877  # the chi-square distribution's 0.999 quantile with 9 degrees of freedom


def test_a_join_before_the_line_opens_is_refused():
    sale = SaleFactory(queue_enabled=True, prequeue_seconds=60, starts_at=timezone.now() + timedelta(hours=1))
    sale_preheat(sale_id=sale.pk)
    response = client_for(UserFactory()).post(f"/api/sales/{sale.pk}/queue")
    assert response.status_code == 409
    assert response.json()["code"] == "queue_not_open"


@on_each_redis
def test_a_join_before_the_start_is_in_the_prequeue_without_a_place():
    sale = queue_sale(starts_in=60)
    place = queue.queue_join(sale_id=sale.pk, user_id=7)
    assert place.state == "prequeue"
    assert place.position is None


@on_each_redis
def test_two_thousand_concurrent_joins_get_places_one_to_two_thousand_and_a_second_join_changes_nothing():
    sale = queue_sale()
    with ThreadPoolExecutor(16) as pool:
        first = list(pool.map(lambda u: queue.queue_join(sale_id=sale.pk, user_id=u).position, range(1, 2001)))
        again = list(pool.map(lambda u: queue.queue_join(sale_id=sale.pk, user_id=u).position, range(1, 2001)))
    positions = [p for p in first if p is not None]
    assert sorted(positions) == list(range(1, 2001))
    assert again == first


def test_the_shuffle_at_the_start_is_uniform():
    sale = queue_sale(starts_in=60, rate=1)
    keys = sale_keys(sale.pk)
    r = get_redis()
    counts = [Counter() for _ in range(10)]
    for _ in range(2000):
        r.delete(*keys.queue_all())
        r.hset(keys.queue, mapping={"on": 1, "rate": 1, "admit_ms": 120000, "pre_ms": 600000})
        r.hset(keys.meta, "starts", int(time.time() * 1000) + 60_000)
        for user in range(1, 11):
            queue.queue_join(sale_id=sale.pk, user_id=user)
        start_now(sale.pk)
        queue.queue_advance(sale_id=sale.pk)
        for user in range(1, 11):
            counts[user - 1][int(r.zscore(keys.queue_positions, user))] += 1
    expected = 2000 / 10
    worst = max(sum((c[p] - expected) ** 2 / expected for p in range(1, 11)) for c in counts)
    assert worst < CHI2_9_DOF_P001, counts


def test_after_the_start_places_are_first_come_first_served():
    sale = queue_sale()
    positions = [queue.queue_join(sale_id=sale.pk, user_id=u).position for u in range(1, 21)]
    assert positions == list(range(1, 21))


@on_each_redis
def test_admission_runs_in_place_order():
    sale = queue_sale(rate=10)
    for user in range(1, 31):
        queue.queue_join(sale_id=sale.pk, user_id=user)
    admitted_order: list[int] = []

    def admitted_now():
        queue.queue_advance(sale_id=sale.pk)
        members = get_redis().zrange(sale_keys(sale.pk).queue_admitted, 0, -1)
        admitted_order.extend(int(u) for u in sorted(members, key=int) if int(u) not in admitted_order)
        return len(admitted_order) >= 20

    wait_for(admitted_now, timeout=10, what="20 admissions")
    assert admitted_order[:20] == list(range(1, 21))


@pytest.mark.slow
def test_the_admission_rate_holds_within_ten_percent_over_ten_seconds():
    sale = queue_sale(rate=20)
    for user in range(1, 601):
        queue.queue_join(sale_id=sale.pk, user_id=user)
    keys, r = sale_keys(sale.pk), get_redis()
    queue.queue_advance(sale_id=sale.pk)
    time.sleep(1.0)  # a second of admissions, then the measured window
    queue.queue_advance(sale_id=sale.pk)
    started, before = time.monotonic(), int(r.hget(keys.queue, "admitted"))
    while time.monotonic() - started < 10:
        queue.queue_advance(sale_id=sale.pk)  # what polls and beat do: advance, at most every 200 ms
        time.sleep(0.1)
    admitted = int(r.hget(keys.queue, "admitted")) - before
    elapsed = time.monotonic() - started
    assert abs(admitted / elapsed - 20) <= 2, (admitted, elapsed)


@on_each_redis
def test_a_token_needs_an_admission_and_dies_with_it():
    sale = queue_sale(rate=1, admission=10)
    first, second = UserFactory(), UserFactory()
    queue.queue_join(sale_id=sale.pk, user_id=first.pk)
    queue.queue_join(sale_id=sale.pk, user_id=second.pk)
    refused = client_for(second).post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_admitted"
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=first.pk).state == "admitted", what="admission")
    token = client_for(first).post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert token.status_code == 200
    assert token.json()["expires_in"] <= 10  # no token outlives the admission


def test_a_token_after_the_admission_lapsed_is_refused():
    sale = queue_sale(rate=50, admission=10)
    shopper = UserFactory()
    queue.queue_join(sale_id=sale.pk, user_id=shopper.pk)
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=shopper.pk).state == "admitted", what="admission")
    get_redis().zadd(sale_keys(sale.pk).queue_admitted, {shopper.pk: int(time.time() * 1000) - 1})  # it ran out
    assert queue.queue_place(sale_id=sale.pk, user_id=shopper.pk).state == "lapsed"
    refused = client_for(shopper).post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert refused.json()["code"] == "not_admitted"


@on_each_redis
def test_a_lapse_without_a_purchase_admits_one_more():
    sale = queue_sale(rate=1, admission=10)
    for user in (1, 2, 3):
        queue.queue_join(sale_id=sale.pk, user_id=user)
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=1).state == "admitted", what="the first admission")
    r = get_redis()
    r.hset(sale_keys(sale.pk).queue, "rate", 0)  # from now on only lapses move the line
    r.zadd(sale_keys(sale.pk).queue_admitted, {1: int(time.time() * 1000) - 1})
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=2).state == "admitted", what="the lapse's admission")
    assert queue.queue_place(sale_id=sale.pk, user_id=3).state == "waiting"


def test_with_the_queue_off_a_join_is_admitted_until_the_sale_ends():
    sale = SaleFactory(queue_enabled=False)
    sale_preheat(sale_id=sale.pk)
    place = queue.queue_join(sale_id=sale.pk, user_id=5)
    assert place.state == "admitted"
    assert abs((place.admitted_until - sale.ends_at).total_seconds()) < 1


@on_each_redis
def test_sold_out_closes_the_line_for_everyone_waiting():
    sale = queue_sale(quantity=1, rate=1, admission=30)
    buyer, waiting = users(2, prefix="so")
    for user in (buyer, waiting):
        queue.queue_join(sale_id=sale.pk, user_id=user.pk)
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=buyer.pk).state == "admitted", what="admission")
    assert buy(client_for(buyer), sale.pk).status_code == 202
    held = queue.queue_place(sale_id=sale.pk, user_id=waiting.pk)
    assert held.state == "waiting"  # the unit is only held: it may come back
    assert held.held_until is not None
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(sale=sale)
    assert client_for(buyer).post(f"/api/orders/{order.number}/pay").status_code == 200
    closed = queue.queue_place(sale_id=sale.pk, user_id=waiting.pk)
    assert closed.state == "closed"
    assert closed.reason == "sold_out"
    assert client_for(UserFactory()).post(f"/api/sales/{sale.pk}/queue").json()["state"] == "closed"


@on_each_redis
def test_a_unit_that_comes_back_admits_the_next_in_line():
    sale = queue_sale(quantity=1, rate=1, admission=30)
    buyer, next_one = users(2, prefix="back")
    for user in (buyer, next_one):
        queue.queue_join(sale_id=sale.pk, user_id=user.pk)
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=buyer.pk).state == "admitted", what="admission")
    assert buy(client_for(buyer), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    time.sleep(1.2)  # the line would admit the next one now, if there were stock: there is none
    assert queue.queue_place(sale_id=sale.pk, user_id=next_one.pk).state == "waiting"
    order = Order.objects.using("default").get(sale=sale)
    with db_clock_shifted(24 * 3600):
        assert lifecycle.order_expire_if_due(order_id=order.pk)  # the unpaid order expires: its unit comes back
    assert wait_for(
        lambda: queue.queue_place(sale_id=sale.pk, user_id=next_one.pk).state == "admitted", what="the next admission"
    )


@on_each_redis
def test_a_ticketed_poll_reads_no_database_row(django_assert_num_queries):
    sale = queue_sale(rate=1)
    shopper = UserFactory()
    client = client_for(shopper)
    ticket = client.post(f"/api/sales/{sale.pk}/queue").json()["ticket"]
    from django.test import Client

    with django_assert_num_queries(0):
        polled = Client().get(f"/api/sales/{sale.pk}/queue", HTTP_X_QUEUE_TICKET=ticket)
    assert polled.status_code == 200
    assert polled.json()["state"] in ("waiting", "admitted")


def test_a_poll_without_joining_is_404_not_in_queue():
    sale = queue_sale()
    response = client_for(UserFactory()).get(f"/api/sales/{sale.pk}/queue")
    assert response.status_code == 404
    assert response.json()["code"] == "not_in_queue"
