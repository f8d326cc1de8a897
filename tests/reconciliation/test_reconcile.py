"""Reconciliation against real Redis and MariaDB: finds drift, repairs only when safe, records all."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections

from config.redis import get_redis
from inventory.models import Stock
from inventory.redis_schema import sale_keys
from orders import lifecycle
from orders.models import Order
from orders.services import reservations_drain
from reconciliation.models import ReconciliationRun
from reconciliation.preheat import sale_preheat
from reconciliation.services import reconcile_sale
from tests.factories import live_sale, users
from tests.helpers import assert_invariants, buy, client_for, on_each_redis, real_db, redis_stock, token_for

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]
Action = ReconciliationRun.Action


def _orders(sale, n, prefix="r"):
    for user in users(n, prefix=prefix):
        assert buy(client_for(user), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    return list(Order.objects.using("default").filter(sale=sale).order_by("id"))


def test_a_sale_in_agreement_is_recorded_as_such():
    sale = live_sale(quantity=10)
    _orders(sale, 3)
    run = reconcile_sale(sale_id=sale.pk)
    assert (run.action, run.redis_stock, run.expected_stock, run.drift, run.db_sold) == (Action.NONE, 7, 7, 0, 3)
    assert ReconciliationRun.objects.using("default").count() == 1


def test_a_lost_redis_return_is_found_repaired_and_recorded(monkeypatch):
    sale = live_sale(quantity=10)
    order = _orders(sale, 2)[0]

    def lost(**kwargs):
        raise ConnectionError("redis went away at the wrong moment")

    monkeypatch.setattr(lifecycle, "stock_release", lost)
    lifecycle.order_cancel(order_id=order.pk, user_id=order.user_id)
    assert redis_stock(sale.pk) == 8
    assert Stock.objects.using("default").get(sku=sale.sku).sold == 1  # DB returned, Redis not

    run = reconcile_sale(sale_id=sale.pk)
    assert run.action == Action.REPAIRED
    assert run.releases_repaired == 1
    assert (run.redis_stock, run.expected_stock, run.drift) == (8, 9, -1)
    assert redis_stock(sale.pk) == 9
    # The order's own late release, should it come now, changes nothing: the guard is keyed by reservation.
    monkeypatch.undo()
    from inventory.services import stock_release

    assert not stock_release(sale_id=sale.pk, reservation_id=order.reservation_id, user_id=order.user_id, quantity=1)
    assert reconcile_sale(sale_id=sale.pk).action == Action.NONE
    assert redis_stock(sale.pk) == 9


def test_redis_holding_too_much_is_set_back_and_never_above_what_the_db_allows():
    sale = live_sale(quantity=10, sku_total=6)  # the SKU only has 6 units for this 10-unit sale
    assert redis_stock(sale.pk) == 6
    _orders(sale, 2)
    get_redis().set(sale_keys(sale.pk).stock, 50)  # e.g. an operator's mistake
    run = reconcile_sale(sale_id=sale.pk)
    assert (run.action, run.redis_stock, run.expected_stock) == (Action.REPAIRED, 50, 4)
    assert redis_stock(sale.pk) == 4
    get_redis().set(sale_keys(sale.pk).stock, 1)
    assert reconcile_sale(sale_id=sale.pk).expected_stock == 4
    assert redis_stock(sale.pk) == 4


def test_reconciling_while_purchases_and_persistence_run_applies_no_wrong_repair():
    sale = live_sale(quantity=300, limit=1)
    shoppers = users(300, prefix="live")
    stop = threading.Event()
    runs: list[ReconciliationRun] = []

    def shop(chunk):
        try:
            for i, user in enumerate(chunk):
                # Keep buying only as reconciliation keeps up, so that some of its runs really happen
                # mid-sale (on a fast machine the 300 purchases used to end before its third run).
                deadline = time.monotonic() + 10
                while len(runs) < i // 20 and time.monotonic() < deadline:
                    time.sleep(0.005)
                client = client_for(user)
                buy(client, sale.pk, token=token_for(client, sale.pk))
        finally:
            connections.close_all()

    def persist():
        try:
            while not stop.is_set():
                reservations_drain(sale_id=sale.pk, count=20)
                time.sleep(0.01)
        finally:
            connections.close_all()

    def reconcile():
        try:
            while not stop.is_set():
                runs.append(reconcile_sale(sale_id=sale.pk))
        finally:
            connections.close_all()

    shoppers_threads = [threading.Thread(target=shop, args=(shoppers[i::4],)) for i in range(4)]
    helpers = [threading.Thread(target=persist), threading.Thread(target=reconcile)]
    for t in shoppers_threads + helpers:
        t.start()
    for t in shoppers_threads:
        t.join()
    stop.set()
    for t in helpers:
        t.join()
    reservations_drain(sale_id=sale.pk)

    assert len(runs) >= 3
    assert not [r for r in runs if r.action == Action.REPAIRED], [
        (r.redis_stock, r.expected_stock) for r in runs if r.action == Action.REPAIRED
    ]
    final = reconcile_sale(sale_id=sale.pk)
    assert final.action == Action.NONE
    assert final.drift == 0
    assert_invariants(sale, accepted_units=300)
    print(
        f"{len(runs)} runs during the sale: {sum(r.action == Action.UNSTABLE for r in runs)} unstable, "
        f"{sum(r.action == Action.NONE for r in runs)} in agreement"
    )


def test_a_flushed_redis_makes_the_sale_unavailable_until_preheat_restores_the_right_stock():
    sale = live_sale(quantity=20, limit=1)
    _orders(sale, 5)
    shopper = users(1, prefix="late")[0]
    client = client_for(shopper)
    token = token_for(client, sale.pk)
    get_redis().flushall()  # Redis restarted empty, without persistence

    refused = buy(client, sale.pk, token=token)
    assert refused.status_code == 503
    assert refused.json()["code"] == "sale_unavailable"
    assert reconcile_sale(sale_id=sale.pk).action == Action.UNAVAILABLE

    plan = sale_preheat(sale_id=sale.pk)
    assert plan.rebuild
    assert plan.stock == 15
    assert redis_stock(sale.pk) == 15  # quantity − DB sold − in flight (0)
    assert buy(client, sale.pk).status_code == 202
    first_buyer = Order.objects.using("default").filter(sale=sale).first().user
    again = buy(client_for(first_buyer), sale.pk)
    assert again.json()["code"] == "limit_reached"  # the per-user counts were rebuilt from the DB
    reservations_drain(sale_id=sale.pk)
    assert_invariants(sale, accepted_units=6)


def test_the_reconcile_command_prints_one_line_per_sale(capsys):
    sale = live_sale(quantity=10)
    call_command("reconcile", str(sale.pk))
    assert f"sale {sale.pk}: none" in capsys.readouterr().out
