"""The shopper pages: what they show, who may see them, and that a reload storm stays off the DB."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from flashsale import pages
from orders.services import reservations_drain
from tests.factories import SaleFactory, UserFactory, live_sale, users
from tests.helpers import buy, client_for, real_db

pytestmark = real_db

SERVER_NOW = re.compile(r'data-server-now="(\d+)"')
AUTH = re.compile(r'data-auth="([01])"')


@pytest.fixture(autouse=True)
def _no_captcha(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False}


@pytest.fixture
def replicated(stack):
    """Wait until the replica holds what the test wrote: the pages read the replica."""
    return stack.mariadb.wait_for_replica


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def per_request_parts_removed(html: str) -> str:
    return AUTH.sub("", SERVER_NOW.sub("", html))


def test_the_front_page_sends_shoppers_to_the_sales():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/sales/"


def test_the_sale_list_shows_visible_sales_and_links_to_them(replicated):
    sale = live_sale(quantity=7, title="Spring phones")
    SaleFactory(title="Hidden draft")
    replicated()
    html = Client().get("/sales/").content.decode()
    assert "Spring phones" in html
    assert f'href="/sales/{sale.pk}/"' in html
    assert "7 of 7 left" in html
    assert "Live now" in html
    assert "Hidden draft" not in html


def test_the_sale_page_carries_the_server_clock_the_sale_window_and_a_csrf_cookie(replicated):
    sale = live_sale(quantity=5, limit=2, title="Night owl deal")
    replicated()
    before = time.time() * 1000
    response = Client().get(f"/sales/{sale.pk}/")
    after = time.time() * 1000
    html = response.content.decode()
    assert response.status_code == 200
    assert "Night owl deal" in html
    assert before - 1 <= int(SERVER_NOW.search(html).group(1)) <= after + 1
    assert f'data-starts-at="{int(sale.starts_at.timestamp() * 1000)}"' in html
    assert 'data-remaining="5"' in html
    assert 'data-limit="2"' in html
    assert response.cookies["csrftoken"].value
    assert "private" in response["Cache-Control"]
    assert "no-cache" in response["Cache-Control"]


def test_the_cached_sale_page_is_the_same_for_every_visitor(replicated):
    sale = live_sale(title="Same for all")
    alice, bob = UserFactory(username="alice-page"), UserFactory(username="bob-page")
    replicated()
    bodies = [c.get(f"/sales/{sale.pk}/").content.decode() for c in (Client(), logged_in(alice), logged_in(bob))]
    assert [AUTH.search(b).group(1) for b in bodies] == ["0", "1", "1"]
    assert len({per_request_parts_removed(b) for b in bodies}) == 1
    assert not any(name in b for b in bodies for name in ("alice-page", "bob-page"))
    assert 'csrfmiddlewaretoken" value=""' in bodies[1]  # filled from the cookie by the page's script


def test_anonymous_shoppers_are_offered_a_login_that_comes_back_to_the_sale(replicated):
    sale = live_sale()
    replicated()
    html = Client().get(f"/sales/{sale.pk}/").content.decode()
    assert f'href="/login/?next=/sales/{sale.pk}/"' in html

    UserFactory(username="returning")
    response = Client().post("/login/", {"username": "returning", "password": "pw", "next": f"/sales/{sale.pk}/"})
    assert response.status_code == 302
    assert response["Location"] == f"/sales/{sale.pk}/"


def test_an_unknown_sale_is_a_404_page_and_a_storm_on_it_stays_off_the_db(replicated):
    replicated()
    assert Client().get("/sales/999999/").status_code == 404
    with (
        time_machine.travel(time.time(), tick=False),
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        codes = {Client().get("/sales/999999/").status_code for _ in range(200)}
    assert codes == {404}
    assert "There is no such page or sale" in Client().get("/sales/999999/").content.decode()
    assert len(primary) + len(replica) <= 1


def test_two_thousand_sale_page_views_make_a_handful_of_queries(replicated):
    sale = live_sale(quantity=50)
    shoppers = [logged_in(u) for u in users(10, prefix="storm")]  # sessions are written before counting
    replicated()
    # The storm's clock is simulated (2 ms per request: 2,000 requests in 4 s), so the count does not
    # depend on how fast this machine is: one render at the start, one when the copy goes stale.
    with (
        time_machine.travel(time.time(), tick=False) as clock,
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        for i in range(2000):
            client = shoppers[i % 10] if i % 2 else Client()  # half logged in, half fresh anonymous visitors
            response = client.get(f"/sales/{sale.pk}/")
            assert response.status_code == 200
            assert AUTH.search(response.content.decode()).group(1) == ("1" if i % 2 else "0")
            clock.shift(0.002)
    queries = [q["sql"] for q in primary.captured_queries + replica.captured_queries]
    assert len(queries) <= 1 + 4 / pages.PAGE_FRESH, queries
    assert all("flashsale_flashsale" in sql for sql in queries), queries  # no session, user or captcha reads


def test_the_sale_list_under_a_storm_is_rendered_once(replicated):
    live_sale()
    replicated()
    with (
        time_machine.travel(time.time(), tick=False),
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        for _ in range(300):
            assert Client().get("/sales/").status_code == 200
    assert len(primary) + len(replica) == 1


def test_a_stale_page_is_served_while_one_request_renders_it_again(replicated, monkeypatch):
    sale = live_sale(title="Before")
    replicated()
    assert "Before" in Client().get(f"/sales/{sale.pk}/").content.decode()
    type(sale).objects.filter(pk=sale.pk).update(title="After")
    replicated()
    monkeypatch.setattr(pages, "PAGE_FRESH", 0)  # the cached copy is now stale
    key = pages.sale_page_cache_key(sale.pk)
    cache.set(key, cache.get(key)._replace(fresh_until=0), 60)
    cache.add(f"{key}:lock", 1, 5)  # another request is rendering it
    assert "Before" in Client().get(f"/sales/{sale.pk}/").content.decode()
    cache.delete(f"{key}:lock")
    assert "After" in Client().get(f"/sales/{sale.pk}/").content.decode()


def test_my_orders_needs_a_login_and_shows_only_my_orders(replicated):
    response = Client().get("/orders/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/orders/"

    sale = live_sale(quantity=10, title="Orders sale")
    me, other = UserFactory(), UserFactory()
    assert buy(client_for(me), sale.pk).status_code == 202
    assert buy(client_for(other), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    mine = me.orders.using("default").get()
    theirs = other.orders.using("default").get()
    html = logged_in(me).get("/orders/").content.decode()
    assert str(mine.number) in html
    assert str(theirs.number) not in html
    assert "Orders sale" in html
    assert "Pending payment" in html
    assert "Pay by" in html


def test_logout_is_a_post_and_ends_the_session(replicated):
    client = logged_in(UserFactory())
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/sales/"
    assert client.get("/orders/").status_code == 302


def test_without_a_payment_endpoint_the_pages_send_shoppers_to_my_orders(replicated, monkeypatch):
    sale = live_sale()
    shopper = UserFactory()
    assert buy(client_for(shopper), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    replicated()
    assert pages.pay_available()  # POST /api/orders/<id>/pay is routed
    assert 'data-pay="1"' in Client().get(f"/sales/{sale.pk}/").content.decode()
    assert "data-pay-order" in logged_in(shopper).get("/orders/").content.decode()

    monkeypatch.setattr(pages, "pay_available", lambda: False)
    cache.delete(pages.sale_page_cache_key(sale.pk))
    assert 'data-pay="0"' in Client().get(f"/sales/{sale.pk}/").content.decode()  # the script shows a link
    orders_html = logged_in(shopper).get("/orders/").content.decode()
    assert "data-pay-order" not in orders_html
    assert "Online payment opens soon" in orders_html


@real_db
def test_a_storm_of_stock_polls_on_the_sale_api_costs_no_database_query_per_poll():
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from tests.factories import live_sale

    sale = live_sale(quantity=10)
    client = APIClient()
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        for _ in range(300):
            assert client.get(f"/api/sales/{sale.pk}/").json()["remaining"] == 10
    assert len(primary) + len(replica) <= 3
