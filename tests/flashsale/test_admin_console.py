"""The operator's console in Django admin, through the test client, on the real services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from config.redis import get_redis
from flashsale.models import FlashSale
from inventory.redis_schema import sale_keys
from orders.models import Order, OrderStatus
from orders.services import reservations_drain
from tests.factories import SaleFactory, UserFactory, live_sale
from tests.helpers import buy, client_for, real_db, redis_stock

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]
CHANGELIST = "admin:flashsale_flashsale_changelist"


def _staff(client, *perms: str):
    user = UserFactory(username=f"ops-{'-'.join(p.split('.')[-1] for p in perms) or 'none'}", is_staff=True)
    codenames = ["view_flashsale", "change_flashsale", "view_order", "change_order", *[p.split(".")[1] for p in perms]]
    user.user_permissions.add(*Permission.objects.using("default").filter(codename__in=codenames))
    client.force_login(user)
    return user


def _action(client, action: str, ids, **extra):
    data = {"action": action, "_selected_action": [str(i) for i in ids], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def test_preheat_shows_a_preview_then_applies(client):
    _staff(client, "flashsale.preheat_flashsale")
    sale = SaleFactory(quantity=30)
    preview = _action(client, "preheat", [sale.pk])
    assert preview.status_code == 200
    assert b"Preheat: preview" in preview.content
    assert b"not preheated" in preview.content
    assert redis_stock(sale.pk) is None  # nothing written yet
    applied = _action(client, "preheat", [sale.pk], confirm="yes")
    assert b"preheated, generation 1, stock 30" in applied.content
    assert redis_stock(sale.pk) == 30
    assert FlashSale.objects.using("default").get(pk=sale.pk).state == FlashSale.State.SCHEDULED


def test_pause_refuses_purchases_at_once_and_resume_restores_them(client):
    _staff(client, "flashsale.pause_flashsale")
    sale = live_sale(quantity=10, limit=5)
    shopper = client_for(UserFactory())
    _action(client, "pause", [sale.pk])
    refused = buy(shopper, sale.pk)
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_live"
    _action(client, "resume", [sale.pk])
    assert buy(shopper, sale.pk).status_code == 202


def test_staff_without_the_permission_cannot_preheat_or_pause(client):
    _staff(client)
    sale = live_sale(quantity=10)
    generation = get_redis().hget(sale_keys(sale.pk).meta, "gen")
    for action in ("preheat", "pause"):
        _action(client, action, [sale.pk], confirm="yes")
    assert get_redis().hget(sale_keys(sale.pk).meta, "state") == "on"
    assert get_redis().hget(sale_keys(sale.pk).meta, "gen") == generation
    page = client.get(reverse(CHANGELIST))
    assert b'value="preheat"' not in page.content
    assert b'value="pause"' not in page.content


def test_the_sale_page_shows_redis_stock_in_flight_db_sold_and_drift(client):
    _staff(client)
    sale = live_sale(quantity=10)
    buy(client_for(UserFactory()), sale.pk)
    page = client.get(reverse("admin:flashsale_flashsale_change", args=[sale.pk])).content.decode()
    assert "Live: Redis against the database" in page
    assert "1 unit(s) accepted, not yet in the DB" in page
    assert "0 of 10" in page
    assert 'id="console-redis-stock">9<' in page
    assert 'id="console-expected">9 ' in page
    assert 'id="console-drift">0 ' in page


def test_staff_can_cancel_selected_orders_through_the_service(client):
    _staff(client, "orders.cancel_order")
    sale = live_sale(quantity=10)
    buy(client_for(UserFactory()), sale.pk)
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(sale=sale)
    client.post(reverse("admin:orders_order_changelist"), {"action": "cancel_selected", "_selected_action": [order.pk]})
    assert Order.objects.using("default").get(pk=order.pk).status == OrderStatus.CANCELLED
    assert redis_stock(sale.pk) == 10


def test_a_sale_on_the_move_still_shows_as_preheated_with_its_redis_stock(client, monkeypatch):
    from reconciliation import selectors

    _staff(client)
    sale = live_sale(quantity=10)
    monkeypatch.setattr(selectors, "stable_reading", lambda sale: None)  # purchases between every two reads
    page = client.get(reverse("admin:flashsale_flashsale_change", args=[sale.pk])).content.decode()
    assert "not preheated" not in page
    assert 'id="console-redis-stock">10<' in page
    assert "the sale moved while it was read" in page
