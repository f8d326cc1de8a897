"""The orders API and "my orders": cursor pages, filters, the history, the cancel button."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from orders import lifecycle
from orders.models import Order, OrderStatus, OrderStatusHistory
from tests.factories import SaleFactory, UserFactory
from tests.helpers import client_for, real_db

pytestmark = real_db


def _orders(user, sale, n: int, start: int = 0) -> list[Order]:
    """n pending orders of one user, made as the persister makes them (one INSERT, one history row each)."""
    now = timezone.now()
    made = Order.objects.using("default").bulk_create(
        [
            Order(
                reservation_id=f"{sale.pk}-t{user.pk}-{start + i}",
                user=user,
                sale=sale,
                quantity=1,
                price=sale.price,
                reserved_at=now,
                expires_at=now + timedelta(minutes=15),
            )
            for i in range(n)
        ]
    )
    made = list(Order.objects.using("default").filter(reservation_id__in=[o.reservation_id for o in made]))
    OrderStatusHistory.objects.using("default").bulk_create(
        [OrderStatusHistory(order=o, from_status="", to_status=o.status, reason="persisted") for o in made]
    )
    return made


def _walk(client, url: str) -> list[str]:
    seen = []
    while url:
        body = client.get(url).json()
        seen += [o["number"] for o in body["results"]]
        url = body["next"]
    return seen


def test_pagination_walks_250_orders_with_no_duplicate_and_no_gap_while_new_ones_arrive():
    sale, shopper = SaleFactory(), UserFactory()
    first = {str(o.number) for o in _orders(shopper, sale, 250)}
    client = client_for(shopper)
    seen, url, arrivals = [], "/api/orders/?page_size=7", 0
    while url:
        body = client.get(url).json()
        seen += [o["number"] for o in body["results"]]
        url = body["next"]
        _orders(shopper, sale, 3, start=1000 + arrivals)  # new orders arrive between pages
        arrivals += 3
    walked_before = [n for n in seen if n in first]
    assert len(walked_before) == len(set(walked_before))  # no duplicate
    assert set(walked_before) == first  # no gap
    assert seen == sorted(seen, reverse=True)  # newest first, by number


def test_previous_walks_back_to_the_first_page():
    sale, shopper = SaleFactory(), UserFactory()
    _orders(shopper, sale, 12)
    client = client_for(shopper)
    page1 = client.get("/api/orders/?page_size=5").json()
    page2 = client.get(page1["next"]).json()
    back = client.get(page2["previous"]).json()
    assert [o["number"] for o in back["results"]] == [o["number"] for o in page1["results"]]


def test_the_list_filters_by_status_and_by_sale():
    shopper = UserFactory()
    sale_a, sale_b = SaleFactory(), SaleFactory()
    a = _orders(shopper, sale_a, 3)
    _orders(shopper, sale_b, 2)
    lifecycle.order_cancel(number=a[0].number, user_id=shopper.pk)
    client = client_for(shopper)
    assert _walk(client, "/api/orders/?status=cancelled") == [str(a[0].number)]
    assert len(_walk(client, f"/api/orders/?sale={sale_b.pk}")) == 2
    assert len(_walk(client, f"/api/orders/?sale={sale_a.pk}&status=pending_payment")) == 2


@pytest.mark.parametrize("query", ["page_size=101", "page_size=0", "status=shipped", "cursor=", "page_size="])
def test_the_list_refuses_a_bad_parameter(query):
    response = client_for(UserFactory()).get(f"/api/orders/?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@pytest.mark.parametrize("cursor", ["garbage", "0", "WyJhZnRlciIsIngiXQ"])
def test_a_cursor_we_did_not_make_points_at_no_page(cursor):
    response = client_for(UserFactory()).get(f"/api/orders/?cursor={cursor}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_history_lists_every_change_and_hides_the_staff_members_name():
    sale, shopper = SaleFactory(), UserFactory()
    order = _orders(shopper, sale, 1)[0]
    lifecycle.order_cancel(order_id=order.pk, user_id=None, reason="cancelled_by_staff:alice")
    rows = client_for(shopper).get(f"/api/orders/{order.number}/history").json()
    assert [(r["from_status"], r["to_status"], r["reason"]) for r in rows] == [
        ("", "pending_payment", "persisted"),
        ("pending_payment", "cancelled", "cancelled_by_staff"),
    ]


def test_the_history_records_a_cancel_by_the_shopper():
    sale, shopper = SaleFactory(), UserFactory()
    order = _orders(shopper, sale, 1)[0]
    client = client_for(shopper)
    client.post(f"/api/orders/{order.number}/cancel")
    assert client.get(f"/api/orders/{order.number}/history").json()[-1]["reason"] == "cancelled_by_user"


def test_the_history_records_an_expiry():
    sale, shopper = SaleFactory(), UserFactory()
    order = _orders(shopper, sale, 1)[0]
    Order.objects.using("default").filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lifecycle.order_expire_if_due(order_id=order.pk)
    last = client_for(shopper).get(f"/api/orders/{order.number}/history").json()[-1]
    assert (last["to_status"], last["reason"]) == ("cancelled", "payment_timeout")


def test_the_history_is_the_owners_only():
    sale = SaleFactory()
    order = _orders(UserFactory(), sale, 1)[0]
    response = client_for(UserFactory()).get(f"/api/orders/{order.number}/history")
    assert response.json()["code"] == "not_found"


def _logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_my_orders_pages_and_shows_each_orders_history():
    sale, shopper = SaleFactory(title="Paged sale"), UserFactory()
    made = sorted(_orders(shopper, sale, 25), key=lambda o: o.number, reverse=True)
    client = _logged_in(shopper)
    page1 = client.get("/orders/").content.decode()
    assert str(made[0].number) in page1
    assert str(made[20].number) not in page1
    assert "persisted" in page1  # the history of each order
    older = page1.split('href="?cursor=')[1].split('"')[0]
    assert str(made[20].number) in client.get(f"/orders/?cursor={older}").content.decode()


def test_my_orders_offers_a_cancel_button_behind_a_confirmation_for_an_unpaid_order():
    sale, shopper = SaleFactory(), UserFactory()
    order = _orders(shopper, sale, 1)[0]
    html = _logged_in(shopper).get("/orders/").content.decode()
    assert f'data-cancel-order="{order.number}"' in html
    assert "data-confirm=" in html


def test_the_cancel_button_s_post_needs_the_csrf_token():
    sale, shopper = SaleFactory(), UserFactory()
    order = _orders(shopper, sale, 1)[0]
    client = _logged_in(shopper)
    client.get("/orders/")  # sets the CSRF cookie, as the page does for its script
    url = f"/api/orders/{order.number}/cancel"
    assert client.post(url, "{}", content_type="application/json").status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.json()["status"] == OrderStatus.CANCELLED


def test_a_rest_client_gets_its_api_token_with_username_and_password():
    get_user_model().objects.create_user("rest-client", password="s3cret-pass")
    got = APIClient().post("/api/auth/token", {"username": "rest-client", "password": "s3cret-pass"}, format="json")
    key = got.json()["token"]
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/orders/").status_code == 200


def test_a_wrong_password_gets_no_token():
    get_user_model().objects.create_user("rest-client", password="s3cret-pass")
    got = APIClient().post("/api/auth/token", {"username": "rest-client", "password": "nope"}, format="json")
    assert (got.status_code, got.json()["code"]) == (401, "not_authenticated")


@pytest.fixture
def throttle(settings):
    settings.RATELIMIT_ENABLE = True
    settings.LOGIN_THROTTLE = {
        "FREE_PER_ACCOUNT": 3,
        "FREE_PER_NETWORK": 6,
        "FIRST_DELAY_MS": 5000,  # no test here races a block running out
        "MAX_DELAY_SECONDS": 20,
        "WINDOW_SECONDS": 900,
    }
    return settings.LOGIN_THROTTLE


def test_token_requests_are_limited_per_username_and_answered_429_with_retry_after(throttle):
    get_user_model().objects.create_user("rest-client", password="s3cret-pass")
    free = throttle["FREE_PER_ACCOUNT"]
    answers = [
        APIClient(REMOTE_ADDR=f"10.0.{i}.1").post(
            "/api/auth/token", {"username": "rest-client", "password": "guess"}, format="json"
        )
        for i in range(free + 2)  # each from another network: only the username's count can stop it
    ]
    assert [a.status_code for a in answers] == [401] * (free + 1) + [429]
    assert int(answers[-1]["Retry-After"]) >= 1


def test_token_requests_are_limited_per_network(throttle):
    free = throttle["FREE_PER_NETWORK"]
    answers = [
        APIClient(REMOTE_ADDR="10.9.9.9").post(
            "/api/auth/token", {"username": f"nobody{i}", "password": "guess"}, format="json"
        )
        for i in range(free + 2)  # another name each time: only the network's count can stop it
    ]
    assert answers[-1].status_code == 429


def test_the_admin_finds_an_order_by_its_number_and_still_by_username():
    sale, shopper = SaleFactory(), UserFactory(username="findme")
    order = _orders(shopper, sale, 1)[0]
    client = Client()
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    by_number = client.get("/admin/orders/order/", {"q": str(order.number)}).content.decode()
    assert order.reservation_id in by_number
    assert order.reservation_id in client.get("/admin/orders/order/", {"q": "findme"}).content.decode()
