"""Pay, cancel and expire: compare-and-set transitions, stock returned exactly once."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from config.redis import get_redis
from inventory.models import Stock
from inventory.redis_schema import sale_keys
from orders import lifecycle
from orders.models import Order, OrderStatus
from orders.services import reservations_drain
from tests.factories import UserFactory, live_sale, users
from tests.helpers import buy, client_for, on_each_redis, real_db, redis_stock
from tests.support.db_clock import db_clock_shifted

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]
PAST_DEADLINE = lambda: settings.ORDER_PAYMENT_TIMEOUT + 5  # noqa: E731


def _orders(sale, n: int, prefix="o") -> list[Order]:
    for user in users(n, prefix=prefix):
        assert buy(client_for(user), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    return list(Order.objects.using("default").filter(sale=sale).order_by("id"))


def _sold(sale) -> int:
    return Stock.objects.using("default").get(sku=sale.sku).sold


def test_paying_an_order_marks_it_paid_once():
    sale = live_sale(quantity=5)
    order = _orders(sale, 1)[0]
    client = client_for(order.user)
    paid = client.post(f"/api/orders/{order.number}/pay")
    assert paid.status_code == 200
    assert paid.json()["status"] == "paid"
    assert paid.json()["payment_ref"].startswith("sim_")
    again = client.post(f"/api/orders/{order.number}/pay")
    assert again.status_code == 409
    assert again.json()["code"] == "already_paid"
    assert list(order.history.using("default").values_list("to_status", flat=True)) == ["pending_payment", "paid"]


def test_a_declined_payment_leaves_the_order_awaiting_payment(settings):
    settings.PAYMENT_FAIL_HOOK = True
    sale = live_sale(quantity=5)
    order = _orders(sale, 1)[0]
    response = client_for(order.user).post(f"/api/orders/{order.number}/pay?fail=1")
    assert response.status_code == 402
    assert response.json()["code"] == "payment_declined"
    assert Order.objects.using("default").get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT


def test_the_decline_hook_is_ignored_where_it_is_off(settings):
    settings.PAYMENT_FAIL_HOOK = False  # production: ?fail=1 is a test hook, not a feature
    sale = live_sale(quantity=5)
    order = _orders(sale, 1)[0]
    response = client_for(order.user).post(f"/api/orders/{order.number}/pay?fail=1")
    assert response.status_code == 200
    assert Order.objects.using("default").get(pk=order.pk).status == OrderStatus.PAID


def test_only_the_owner_can_pay_or_cancel():
    sale = live_sale(quantity=5)
    order = _orders(sale, 1)[0]
    mallory = client_for(UserFactory())
    assert mallory.post(f"/api/orders/{order.number}/pay").status_code == 404
    assert mallory.post(f"/api/orders/{order.number}/cancel").status_code == 404
    assert Order.objects.using("default").get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT


def test_cancelling_returns_the_stock_once_and_a_later_payment_is_refused():
    sale = live_sale(quantity=5, limit=1)
    order = _orders(sale, 1)[0]
    client = client_for(order.user)
    assert redis_stock(sale.pk) == 4
    assert _sold(sale) == 1
    assert client.post(f"/api/orders/{order.number}/cancel").json()["status"] == "cancelled"
    assert client.post(f"/api/orders/{order.number}/cancel").json()["status"] == "cancelled"
    assert redis_stock(sale.pk) == 5
    assert _sold(sale) == 0
    assert get_redis().hget(sale_keys(sale.pk).bought, order.user_id) == "0"  # may buy again
    late = client.post(f"/api/orders/{order.number}/pay")
    assert late.status_code == 409
    assert late.json()["code"] == "order_closed"


def test_expiry_is_driven_by_the_database_clock():
    sale = live_sale(quantity=10)
    _orders(sale, 3)
    assert lifecycle.orders_expire_due() == 0  # now: nothing is due
    with db_clock_shifted(settings.ORDER_PAYMENT_TIMEOUT - 60):
        assert lifecycle.orders_expire_due() == 0  # a minute before the deadline: still nothing
    with db_clock_shifted(PAST_DEADLINE()):
        assert lifecycle.orders_expire_due() == 3
    assert set(Order.objects.using("default").values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert _sold(sale) == 0
    assert redis_stock(sale.pk) == 10


def test_a_payment_after_expiry_is_refused():
    sale = live_sale(quantity=10)
    order = _orders(sale, 1)[0]
    with db_clock_shifted(PAST_DEADLINE()):
        with pytest.raises(Exception) as refused:
            lifecycle.order_pay(number=order.number, user_id=order.user_id)
    assert getattr(refused.value, "code", None) == "order_closed"


def test_two_concurrent_expiry_runs_return_the_stock_once():
    sale = live_sale(quantity=60, limit=1)
    _orders(sale, 40)
    barrier = threading.Barrier(2)
    closed = []

    def run():
        try:
            with db_clock_shifted(PAST_DEADLINE()):
                barrier.wait()
                closed.append(lifecycle.orders_expire_due(batch=7))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(closed) == 40
    assert _sold(sale) == 0
    assert redis_stock(sale.pk) == 60
    assert Order.objects.using("default").filter(status=OrderStatus.CANCELLED, stock_returned=True).count() == 40


@pytest.mark.slow
def test_pay_racing_expiry_200_times_never_both_and_stock_returns_only_when_cancelled():
    sale = live_sale(quantity=200, limit=1)
    orders = _orders(sale, 200)
    outcomes = []

    def pay(order, barrier):
        try:
            connections["default"].ensure_connection()  # both sides start connected: a fair race
            barrier.wait()
            lifecycle.order_pay(number=order.number, user_id=order.user_id)
            outcomes.append(("paid", order.pk))
        except Exception as exc:
            assert getattr(exc, "code", "") == "order_closed", exc
        finally:
            connections.close_all()

    def expire(order, barrier):
        try:
            with db_clock_shifted(PAST_DEADLINE()):  # this worker sees the deadline passed
                barrier.wait()
                if lifecycle.order_expire_if_due(order_id=order.pk):
                    outcomes.append(("cancelled", order.pk))
        finally:
            connections.close_all()

    for order in orders:
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=pay, args=(order, barrier)),
            threading.Thread(target=expire, args=(order, barrier)),
        ]
        [t.start() for t in threads]
        [t.join() for t in threads]

    winners = {}
    for what, order_id in outcomes:
        assert order_id not in winners, "both paid and cancelled"
        winners[order_id] = what
    assert len(winners) == 200
    final = dict(Order.objects.using("default").filter(sale=sale).values_list("id", "status"))
    assert {k: v for k, v in final.items()} == winners
    paid = sum(1 for v in winners.values() if v == "paid")
    cancelled = 200 - paid
    assert _sold(sale) == paid
    assert redis_stock(sale.pk) == cancelled
    returned = Order.objects.using("default").filter(sale=sale, stock_returned=True)
    assert set(returned.values_list("status", flat=True)) <= {OrderStatus.CANCELLED}
    assert returned.count() == cancelled
    assert get_redis().hlen(sale_keys(sale.pk).released) == cancelled
    print(f"pay won {paid}, expiry won {cancelled} of 200 races")


@pytest.mark.parametrize("skew_seconds", [300, -300])
def test_a_worker_clock_skewed_by_five_minutes_neither_expires_early_nor_refuses_a_timely_payment(
    settings, skew_seconds
):
    import time

    import time_machine

    settings.ORDER_PAYMENT_TIMEOUT = 60  # shorter than the skew: a worker-clock expiry would act early
    sale = live_sale(quantity=10)
    orders = _orders(sale, 2, prefix=f"skew{skew_seconds}")
    with time_machine.travel(time.time() + skew_seconds, tick=True):
        assert lifecycle.orders_expire_due() == 0
        paid = lifecycle.order_pay(number=orders[0].number, user_id=orders[0].user_id)
    assert paid.status == OrderStatus.PAID
    assert Order.objects.using("default").get(pk=orders[1].pk).status == OrderStatus.PENDING_PAYMENT
    with db_clock_shifted(61):  # only the database's clock passing the deadline expires it
        assert lifecycle.orders_expire_due() == 1
