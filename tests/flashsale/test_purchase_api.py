"""The purchase endpoint against real Redis (Lua) and MariaDB."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.redis import get_redis
from inventory.redis_schema import sale_keys
from orders.services import reservations_drain
from tests.factories import UserFactory, live_sale
from tests.helpers import assert_invariants, buy, client_for, on_each_redis, real_db, redis_stock, stream_len, token_for

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def test_it_accepts_a_purchase_and_persists_it_as_an_order():
    sale = live_sale(quantity=10, limit=2)
    client = client_for(UserFactory())
    response = buy(client, sale.pk, quantity=2)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["status_url"] == f"/api/reservations/{body['reservation_id']}"
    assert client.get(body["status_url"]).json()["status"] == "pending"
    assert redis_stock(sale.pk) == 8

    reservations_drain(sale_id=sale.pk)

    status = client.get(body["status_url"]).json()
    assert status["status"] == "created"
    order = client.get(f"/api/orders/{status['order_number']}/").json()
    assert order["status"] == "pending_payment"
    assert order["quantity"] == 2
    assert order["price"] == "199.00"
    assert_invariants(sale, accepted_units=2)


def test_it_refuses_a_replayed_token():
    sale = live_sale(quantity=10, limit=5)
    client = client_for(UserFactory())
    token = token_for(client, sale.pk)
    assert buy(client, sale.pk, token=token).status_code == 202
    replay = buy(client, sale.pk, token=token)
    assert replay.status_code == 403
    assert replay.json()["code"] == "bad_token"
    assert redis_stock(sale.pk) == 9


def test_twenty_concurrent_uses_of_one_token_give_exactly_one_success():
    sale = live_sale(quantity=100, limit=50)
    user = UserFactory()
    token = token_for(client_for(user), sale.pk)
    barrier = threading.Barrier(20)

    def attempt(_):
        client = client_for(user)
        barrier.wait()
        return buy(client, sale.pk, token=token).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(attempt, range(20)))
    assert codes.count(202) == 1
    assert codes.count(403) == 19
    assert redis_stock(sale.pk) == 99
    assert stream_len(sale.pk) == 1


def test_twenty_concurrent_requests_with_one_idempotency_key_make_one_reservation():
    sale = live_sale(quantity=100, limit=50)
    user = UserFactory()
    token = token_for(client_for(user), sale.pk)
    barrier = threading.Barrier(20)

    def attempt(_):
        client = client_for(user)
        barrier.wait()
        return buy(client, sale.pk, quantity=3, token=token, idem="order-42")

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(attempt, range(20)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["reservation_id"] for r in responses}) == 1
    assert redis_stock(sale.pk) == 97
    assert stream_len(sale.pk) == 1


def test_it_answers_422_when_an_idempotency_key_comes_back_with_another_body():
    sale = live_sale(quantity=10, limit=5)
    client = client_for(UserFactory())
    token = token_for(client, sale.pk)
    assert buy(client, sale.pk, quantity=1, token=token, idem="k1").status_code == 202
    again = buy(client, sale.pk, quantity=2, token=token, idem="k1")
    assert again.status_code == 422
    assert again.json()["code"] == "idempotency_mismatch"


def test_it_refuses_sold_out_and_over_the_limit_without_taking_stock():
    sale = live_sale(quantity=3, limit=2)
    alice, bob = client_for(UserFactory()), client_for(UserFactory())
    assert buy(alice, sale.pk, quantity=2).status_code == 202
    over = buy(alice, sale.pk, quantity=1)
    assert over.status_code == 409
    assert over.json()["code"] == "limit_reached"
    too_many = buy(bob, sale.pk, quantity=2)
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "sold_out"
    assert buy(bob, sale.pk, quantity=1).status_code == 202
    last = buy(client_for(UserFactory()), sale.pk)
    assert last.status_code == 409
    assert last.json()["code"] == "sold_out"
    assert redis_stock(sale.pk) == 0


def test_it_refuses_a_sale_that_has_not_started_or_has_ended():
    soon = live_sale(starts_at=timezone.now() + timedelta(minutes=5))
    over = live_sale(starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1))
    client = client_for(UserFactory())
    for sale in (soon, over):
        response = buy(client, sale.pk)
        assert response.status_code == 409
        assert response.json()["code"] == "not_live"
        assert redis_stock(sale.pk) == 100


def test_a_token_buys_for_the_user_it_was_issued_to_and_only_in_its_sale():
    sale, other_sale = live_sale(), live_sale()
    alice_user = UserFactory()
    alice, bob = client_for(alice_user), client_for(UserFactory())
    assert buy(alice, other_sale.pk, token=token_for(alice, sale.pk)).json()["code"] == "bad_token"
    assert buy(alice, sale.pk, token=token_for(alice, sale.pk)[:-2] + "xx").json()["code"] == "bad_token"
    # The token is the credential: whoever sends it, it reserves for Alice, against Alice's limit.
    relayed = buy(bob, sale.pk, token=token_for(alice, sale.pk))
    assert relayed.status_code == 202
    assert get_redis().hget(sale_keys(sale.pk).reservation(relayed.json()["reservation_id"]), "user") == str(
        alice_user.pk
    )
    assert buy(alice, sale.pk).json()["code"] == "limit_reached"


def test_a_purchase_reads_neither_database():
    sale = live_sale()
    client = client_for(UserFactory())
    token = token_for(client, sale.pk)
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = buy(client, sale.pk, token=token)
    assert response.status_code == 202
    assert [q["sql"] for q in primary] + [q["sql"] for q in replica] == []


@pytest.mark.parametrize(
    "quantity", [0, -1, 1.5, "1", "1e3", "0x10", " 2 ", "inf", "nan", 10**20, 2**63, True, None, [1], {"n": 1}]
)
def test_bad_quantities_are_refused_in_the_error_shape_and_take_nothing(quantity):
    sale = live_sale(quantity=10, limit=5)
    client = client_for(UserFactory())
    response = buy(client, sale.pk, quantity=quantity)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "quantity" in response.json()["details"]
    assert redis_stock(sale.pk) == 10
    assert stream_len(sale.pk) == 0


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("not json", "application/json"),
        ('{"token": "x"', "application/json"),
        ("quantity=1", "application/x-www-form-urlencoded"),
        ("{}", "application/json"),
        ('{"quantity": 1}', "application/json"),
        ("[1, 2]", "application/json"),
    ],
)
def test_malformed_bodies_are_4xx_in_the_error_shape_and_take_nothing(body, content_type):
    sale = live_sale(quantity=10, limit=5)
    client = client_for(UserFactory())
    response = client.post(f"/api/sales/{sale.pk}/purchase", body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"code", "message"}
    assert redis_stock(sale.pk) == 10
    assert stream_len(sale.pk) == 0


def test_an_unknown_sale_is_404():
    client = client_for(UserFactory())
    response = client.post("/api/sales/999999/purchase", {"token": "t", "quantity": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.post("/api/sales/999999/token", {}, format="json").status_code == 404
    assert client.get("/api/sales/1%20OR%201=1/").status_code == 404


def test_a_flushed_redis_means_sale_unavailable_never_sold_out():
    sale = live_sale(quantity=10)
    client = client_for(UserFactory())
    token = token_for(client, sale.pk)
    get_redis().flushall()
    response = buy(client, sale.pk, token=token)
    assert response.status_code == 503
    assert response.json()["code"] == "sale_unavailable"


def test_an_unreachable_redis_means_503(settings):
    sale = live_sale(quantity=10)
    client = client_for(UserFactory())
    token = token_for(client, sale.pk)
    from config.redis import reset_redis

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    reset_redis()
    try:
        response = buy(client, sale.pk, token=token)
    finally:
        reset_redis()
    assert response.status_code == 503
    assert response.json()["code"] == "sale_unavailable"


def test_anonymous_callers_cannot_get_a_token_nor_buy_without_one():
    sale = live_sale()
    from rest_framework.test import APIClient

    anonymous = APIClient()
    token = anonymous.post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert token.status_code == 401
    assert token.json()["code"] == "not_authenticated"
    response = anonymous.post(f"/api/sales/{sale.pk}/purchase", {"token": "t", "quantity": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "bad_token"
    assert redis_stock(sale.pk) == 100
