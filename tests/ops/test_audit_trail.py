"""Every operator action is in the admin's history: who, when, on what, what, and the numbers."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from orders.models import Order
from orders.services import reservations_drain
from tests.factories import SaleFactory, UserFactory, live_sale
from tests.helpers import buy, client_for, real_db

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _operator(client, *codenames: str):
    user = UserFactory(username="operator", is_staff=True)
    wanted = ["view_flashsale", "change_flashsale", "view_order", "change_order", "view_logentry", *codenames]
    user.user_permissions.add(*Permission.objects.using("default").filter(codename__in=wanted))
    client.force_login(user)
    return user


def _action(client, changelist: str, action: str, ids, **extra):
    data = {"action": action, "_selected_action": [str(i) for i in ids], **extra}
    return client.post(reverse(changelist), data, follow=True)


def _entries(obj) -> list[LogEntry]:
    return list(LogEntry.objects.using("default").filter(object_id=str(obj.pk)).order_by("action_time", "id"))


def test_a_preheat_is_recorded_with_who_and_the_numbers_it_wrote(client):
    operator = _operator(client, "preheat_flashsale")
    sale = SaleFactory(quantity=30)
    _action(client, "admin:flashsale_flashsale_changelist", "preheat", [sale.pk], confirm="yes")
    [entry] = _entries(sale)
    assert entry.user_id == operator.pk
    assert entry.action_time is not None
    assert entry.change_message == "preheated: generation=1 stock=30 db_sold=0 in_flight=0 rebuilt=True"


def test_a_forced_preheat_and_a_pause_and_resume_show_on_the_sales_history_page(client):
    _operator(client, "preheat_flashsale", "pause_flashsale")
    sale = live_sale(quantity=10)
    changelist = "admin:flashsale_flashsale_changelist"
    _action(client, changelist, "preheat", [sale.pk], confirm="yes", force="yes")
    _action(client, changelist, "pause", [sale.pk])
    _action(client, changelist, "resume", [sale.pk])
    assert [e.change_message.split(":")[0] for e in _entries(sale)] == ["preheated (forced)", "paused", "resumed"]
    history = client.get(reverse("admin:flashsale_flashsale_history", args=[sale.pk]))
    assert b"preheated (forced): generation=" in history.content


def test_cancelling_an_order_from_the_admin_is_recorded_with_the_units_returned(client):
    _operator(client, "cancel_order")
    sale = live_sale(quantity=5, limit=2)
    assert buy(client_for(UserFactory()), sale.pk, quantity=2).status_code == 202
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(sale=sale)
    _action(client, "admin:orders_order_changelist", "cancel_selected", [order.pk])
    [entry] = _entries(order)
    assert entry.change_message == "cancelled: quantity_returned=2"
