"""What the cache buys on the real stack (MariaDB pair, Redis, real threads): an expiring entry
costs one rebuild, unknown ids cost one query each, a warm read costs none, and every status
change, token deletion and deactivation is seen at once whatever the replica's lag."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.redis import get_redis
from flashsale import selectors as sale_selectors
from orders import lifecycle
from orders.models import Order
from orders.services import reservations_drain
from tests.factories import UserFactory, live_sale
from tests.helpers import buy, real_db
from tests.support.queries import QueryLog, run_at_once

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]
THREADS = 200


def _token_client(user) -> APIClient:
    key = Token.objects.using("default").get_or_create(user=user)[0].key
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


def _expire(key: str) -> None:
    """The entry's fresh period is over (it is still in Redis, stale), as when its time runs out."""
    cache.set(key, cache.get(key)._replace(fresh_until=0), 60)


def _an_order(stack, *, limit: int = 1, buys: int = 1, replicated: bool = True):
    sale = live_sale(quantity=10, limit=limit)
    shopper = UserFactory()
    client = _token_client(shopper)
    for _ in range(buys):
        assert buy(client, sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    if replicated:
        stack.mariadb.wait_for_replica()
    return shopper, client, list(Order.objects.using("default").filter(user=shopper).order_by("id"))


def _queries(call) -> int:
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        call()
    return len(primary) + len(replica)


def test_200_threads_reading_a_sale_the_moment_its_entry_expires_make_at_most_2_queries(stack):
    sale = live_sale()
    stack.mariadb.wait_for_replica()
    url = f"/api/sales/{sale.pk}/"
    assert APIClient().get(url).status_code == 200
    _expire(f"sale:{sale_selectors.sale_tag(sale.pk)}:row")
    log = QueryLog()
    answers = run_at_once(THREADS, lambda: APIClient().get(url).status_code, log)
    assert answers == [200] * THREADS
    assert len(log) <= 2, log.sql


def test_200_threads_reading_an_order_the_moment_its_entry_expires_make_at_most_2_queries(stack):
    shopper, client, [order] = _an_order(stack)
    url = f"/api/orders/{order.number}/"
    assert client.get(url).status_code == 200
    _expire(f"orders:{{u{shopper.pk}}}:order:{order.number}")
    log = QueryLog()
    key = Token.objects.using("default").get(user=shopper).key
    answers = run_at_once(THREADS, lambda: APIClient(HTTP_AUTHORIZATION=f"Token {key}").get(url).status_code, log)
    assert answers == [200] * THREADS
    assert len(log) <= 2, log.sql


@pytest.mark.parametrize("endpoint", ["detail", "token", "purchase"])
def test_500_requests_for_unknown_sales_make_at_most_one_query_per_distinct_id(stack, endpoint, monkeypatch):
    monkeypatch.setattr(sale_selectors, "SALE_MISSING_SECONDS", 120)  # a TTL longer than the test
    client = _token_client(UserFactory())
    ids = [10_000_000 + i for i in range(50)]
    calls = {
        "detail": lambda sid: client.get(f"/api/sales/{sid}/"),
        "token": lambda sid: client.post(f"/api/sales/{sid}/token", {}, format="json"),
        "purchase": lambda sid: client.post(
            f"/api/sales/{sid}/purchase", {"token": "not-a-token", "quantity": 1}, format="json"
        ),
    }
    rng = random.Random(15)
    requests = [rng.choice(ids) for _ in range(500)]
    answers = []
    count = _queries(lambda: answers.extend(calls[endpoint](sid).status_code for sid in requests))
    assert set(answers) == {404}
    assert count <= len(set(requests)) + 1  # + 1: the API token's first lookup


def test_a_warm_order_read_makes_no_db_query(stack):
    _, client, [order] = _an_order(stack)
    for url in (f"/api/orders/{order.number}/", "/api/orders/"):
        client.get(url)
        assert _queries(lambda url=url: client.get(url)) == 0, url


def test_a_warm_order_read_with_a_session_makes_no_db_query(stack):
    shopper, _, [order] = _an_order(stack)
    browser = Client()
    browser.force_login(shopper)
    url = f"/api/orders/{order.number}/"
    browser.get(url)
    assert _queries(lambda: browser.get(url)) == 0


def test_the_cached_session_user_holds_no_password_hash(stack):
    shopper, _, [order] = _an_order(stack)
    browser = Client()
    browser.force_login(shopper)
    browser.get(f"/api/orders/{order.number}/")
    stored = b"".join(get_redis().dump(key) or b"" for key in get_redis().scan_iter(match=f"*auth:{{u{shopper.pk}}}*"))
    assert shopper.password.split("$")[-1].encode() not in stored


def test_a_warm_sale_read_makes_no_db_query(stack):
    sale = live_sale()
    for url in (f"/api/sales/{sale.pk}/", "/api/sales/"):
        APIClient().get(url)
        assert _queries(lambda url=url: APIClient().get(url)) == 0, url


@pytest.fixture
def stopped_replica(stack):
    stack.mariadb.wait_for_replica()
    stack.mariadb.stop_replica_sql_thread()
    yield
    stack.mariadb.start_replica_sql_thread()
    stack.mariadb.wait_for_replica()


@pytest.fixture
def lagging_replica(stack):
    stack.mariadb.wait_for_replica()
    stack.mariadb.set_replica_delay(3)
    yield
    stack.mariadb.set_replica_delay(0)
    stack.mariadb.wait_for_replica(timeout=30)


def test_a_deleted_api_token_is_refused_on_its_next_request_with_the_replica_stopped(stack, stopped_replica):
    shopper = UserFactory()
    client = _token_client(shopper)
    assert client.get("/api/orders/").status_code == 200  # the token is in the cache now
    Token.objects.using("default").filter(user=shopper).get().delete()
    assert client.get("/api/orders/").status_code == 401


def test_a_deactivated_users_token_and_session_are_refused_at_once_with_the_replica_stopped(stack, stopped_replica):
    shopper = UserFactory()
    client, browser = _token_client(shopper), Client()
    browser.force_login(shopper)
    assert (client.get("/api/orders/").status_code, browser.get("/orders/").status_code) == (200, 200)
    shopper.is_active = False
    shopper.save()
    assert (client.get("/api/orders/").status_code, browser.get("/orders/").status_code) == (401, 302)


def _status_changes_are_seen_at_once(stack) -> None:
    shopper, client, orders = _an_order(stack, limit=3, buys=3, replicated=False)
    urls = [f"/api/orders/{o.number}/" for o in orders]
    for url in urls:
        assert client.get(url).json()["status"] == "pending_payment"  # cached now
    assert client.get("/api/orders/").json()["results"][0]["status"] == "pending_payment"
    assert client.post(f"{urls[0]}pay").status_code == 200
    assert client.get(urls[0]).json()["status"] == "paid"
    assert client.post(f"{urls[1]}cancel").status_code == 200
    assert client.get(urls[1]).json()["status"] == "cancelled"
    Order.objects.using("default").filter(pk=orders[2].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lifecycle.orders_expire_due() == 1
    assert client.get(urls[2]).json()["status"] == "cancelled"
    listed = {o["number"]: o["status"] for o in client.get("/api/orders/").json()["results"]}
    assert listed == {
        str(orders[0].number): "paid",
        str(orders[1].number): "cancelled",
        str(orders[2].number): "cancelled",
    }


def test_pay_cancel_and_expiry_are_seen_at_once_with_the_replica_stopped(stack, stopped_replica):
    _status_changes_are_seen_at_once(stack)


def test_pay_cancel_and_expiry_are_seen_at_once_with_the_replica_lagging(stack, lagging_replica):
    _status_changes_are_seen_at_once(stack)
