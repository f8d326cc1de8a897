"""What operators and the background jobs read of a sale split over buckets: the console, /metrics,
the persister's sweep, seed_demo and the waiting room, each per bucket and in sum."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from flashsale import queue
from flashsale.models import FlashSale
from inventory.buckets import stock_transfer
from inventory.redis_schema import home_bucket
from inventory.selectors import bucket_stocks
from orders.selectors import sales_with_reservations_in_stream
from reconciliation.preheat import sale_preheat
from tests.factories import UserFactory, live_sale, users
from tests.helpers import buy, client_for, on_each_redis, real_db
from tests.ops.test_health_and_metrics import scrape, value
from tests.support.queue import queue_sale, wait_for

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = "scrape-secret"


def test_the_console_shows_each_bucket_and_the_sum(client):
    staff = UserFactory(username="ops", is_staff=True, is_superuser=True)
    client.force_login(staff)
    sale = live_sale(quantity=10, stock_buckets=4)
    page = client.get(reverse("admin:flashsale_flashsale_change", args=[sale.pk])).content.decode()
    assert 'id="console-redis-stock">10<' in page
    assert "#0: 3 · #1: 3 · #2: 2 · #3: 2" in page


def test_metrics_report_a_split_sale_in_sum_and_per_bucket(client, stack, metrics_token):
    sale = live_sale(quantity=10, stock_buckets=2)
    assert buy(client_for(UserFactory()), sale.pk).status_code == 202
    stack.mariadb.wait_for_replica()  # /metrics reads the list of sales on the replica
    samples = scrape(client, HTTP_AUTHORIZATION="Bearer scrape-secret")
    s = str(sale.pk)
    assert value(samples, "flashsale_stock_remaining", sale=s) == 9.0
    assert value(samples, "flashsale_purchases_total", sale=s, outcome="ok") == 1.0
    assert sum(value(samples, "flashsale_bucket_stock_remaining", sale=s, bucket=b) for b in "01") == 9.0


def test_the_sweep_finds_a_sale_whose_entries_are_in_another_bucket_s_stream():
    sale = live_sale(quantity=10, stock_buckets=4)
    buyer = next(u for u in users(20, prefix="sweep") if home_bucket(u.pk, 4) == 3)
    assert buy(client_for(buyer), sale.pk).status_code == 202
    assert sales_with_reservations_in_stream() == [sale.pk]


def test_seed_demo_splits_the_demo_sale_over_the_buckets_asked(capsys):
    call_command("seed_demo", "--users", "1", "--json", "--stock", "9", "--buckets", "3")
    sale_id = json.loads(capsys.readouterr().out)["sale_id"]
    assert FlashSale.objects.using("default").get(pk=sale_id).stock_buckets == 3
    assert bucket_stocks([sale_id])[sale_id] == [3, 3, 3]


def test_the_waiting_room_stays_open_while_only_other_buckets_hold_stock():
    sale = queue_sale(quantity=2)
    FlashSale.objects.filter(pk=sale.pk).update(stock_buckets=2)
    sale_preheat(sale_id=sale.pk)
    stock_transfer(sale_id=sale.pk, donor=0, home=1, wanted=1)  # bucket 0, where the line is, is empty
    (shopper,) = users(1, prefix="line")
    assert queue.queue_join(sale_id=sale.pk, user_id=shopper.pk).state != "closed"


def test_a_shopper_homed_outside_bucket_0_gets_a_token_only_once_admitted_by_the_line():
    sale = queue_sale(quantity=4, rate=1)
    FlashSale.objects.filter(pk=sale.pk).update(stock_buckets=2)
    sale_preheat(sale_id=sale.pk)
    first, second = [u for u in users(20, prefix="adm") if home_bucket(u.pk, 2) == 1][:2]
    for shopper in (first, second):
        queue.queue_join(sale_id=sale.pk, user_id=shopper.pk)
    wait_for(lambda: queue.queue_place(sale_id=sale.pk, user_id=first.pk).state == "admitted", what="admission")
    queue.queue_pause(sale_id=sale.pk, paused=True)  # the second stays in line
    assert client_for(second).post(f"/api/sales/{sale.pk}/token", {}, format="json").json()["code"] == "not_admitted"
    assert buy(client_for(first), sale.pk).status_code == 202
