"""One definition of drift: the operator console shows what the reconciler finds."""

from __future__ import annotations

import pytest

from orders import lifecycle
from orders.models import Order
from orders.services import reservations_drain
from reconciliation.selectors import sale_console
from reconciliation.services import reconcile_sale
from tests.factories import live_sale, users
from tests.helpers import buy, client_for, real_db, redis_stock

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def test_the_console_and_the_reconciler_agree_on_a_sku_with_fewer_units_than_the_sale():
    sale = live_sale(quantity=10, sku_total=6)  # the SKU caps what the sale can sell
    console = sale_console(sale_id=sale.pk)
    run = reconcile_sale(sale_id=sale.pk)
    assert console["redis_stock"] == 6
    assert console["expected_stock"] == 6
    assert console["drift"] == 0
    assert run.drift == 0


def test_the_console_counts_a_return_redis_never_got_as_the_reconciler_does(monkeypatch):
    sale = live_sale(quantity=10)
    for user in users(2, prefix="d"):
        assert buy(client_for(user), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").filter(sale=sale).first()

    def lost(**kwargs):
        raise ConnectionError("redis went away at the wrong moment")

    monkeypatch.setattr(lifecycle, "stock_release", lost)
    lifecycle.order_cancel(order_id=order.pk, user_id=order.user_id)
    console = sale_console(sale_id=sale.pk)
    run = reconcile_sale(sale_id=sale.pk)  # replays the return, then records what it found first
    assert console["redis_stock"] == 8
    assert console["drift"] == -1
    assert console["unreturned"] == 1
    assert run.drift == console["drift"]
    assert redis_stock(sale.pk) == 9
