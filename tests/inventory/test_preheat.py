"""Preheat: idempotent, a new generation each time, careful with a live sale in flight."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from config.redis import get_redis
from flashsale.models import FlashSale
from inventory.redis_schema import sale_keys
from orders.services import reservations_drain
from reconciliation.preheat import sale_preheat
from tests.factories import SaleFactory, UserFactory, live_sale
from tests.helpers import buy, client_for, on_each_redis, real_db, redis_stock

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def test_preheating_twice_writes_the_same_stock_with_a_new_generation():
    sale = SaleFactory(quantity=40)
    first = sale_preheat(sale_id=sale.pk)
    second = sale_preheat(sale_id=sale.pk)
    assert (first.generation, second.generation) == (1, 2)
    assert first.stock == 40
    assert second.stock == 40
    assert redis_stock(sale.pk) == 40
    assert get_redis().hget(sale_keys(sale.pk).meta, "gen") == "2"
    assert FlashSale.objects.using("default").get(pk=sale.pk).generation == 2


def test_a_re_preheat_keeps_the_sale_s_sold_and_in_flight_units_out_of_stock():
    sale = live_sale(quantity=10, limit=1)
    for _ in range(3):
        buy(client_for(UserFactory()), sale.pk)
    reservations_drain(sale_id=sale.pk)
    buy(client_for(UserFactory()), sale.pk)  # one more, still in flight
    plan = sale_preheat(sale_id=sale.pk, force=True)
    assert (plan.db_sold, plan.inflight, plan.stock) == (3, 1, 6)
    assert redis_stock(sale.pk) == 6


def test_it_refuses_a_live_sale_with_reservations_in_flight_unless_forced():
    sale = live_sale(quantity=10)
    buy(client_for(UserFactory()), sale.pk)
    with pytest.raises(CommandError, match="preheat_refused"):
        call_command("preheat_sale", str(sale.pk))
    call_command("preheat_sale", str(sale.pk), "--force")
    assert get_redis().hget(sale_keys(sale.pk).meta, "gen") == "2"
    assert redis_stock(sale.pk) == 9


def test_a_dry_run_writes_nothing(capsys):
    sale = SaleFactory(quantity=12)
    call_command("preheat_sale", str(sale.pk), "--dry-run")
    assert "would write stock 12" in capsys.readouterr().out
    assert redis_stock(sale.pk) is None


def test_the_sales_api_shows_remaining_units_from_redis():
    sale = live_sale(quantity=10)
    buy(client_for(UserFactory()), sale.pk)
    listed = APIClient().get("/api/sales/").json()["results"]
    assert [(s["id"], s["remaining"], s["phase"]) for s in listed] == [(sale.pk, 9, "live")]
    assert APIClient().get(f"/api/sales/{sale.pk}/").json()["remaining"] == 9
    assert APIClient().get("/api/sales/999999/").status_code == 404


def test_seed_demo_prints_only_json_with_a_preheated_sale_and_working_tokens(capsys):
    call_command("seed_demo", "--stock", "7", "--limit", "2", "--users", "3", "--json")
    out = json.loads(capsys.readouterr().out)
    assert len(out["users"]) == 3
    assert redis_stock(out["sale_id"]) == 7
    client = APIClient(HTTP_AUTHORIZATION=f"Token {out['users'][0]['token']}")
    token = client.post(f"/api/sales/{out['sale_id']}/token", {}, format="json").json()["token"]
    bought = client.post(f"/api/sales/{out['sale_id']}/purchase", {"token": token, "quantity": 2}, format="json")
    assert bought.status_code == 202


def test_the_openapi_schema_and_docs_are_served():
    client = APIClient()
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/sales/{sale_id}/purchase", "/api/reservations/{reservation_id}", "/api/orders/{number}/pay"} <= set(
        paths
    )
    assert client.get("/api/docs/").status_code == 200


def test_a_preheat_that_rebuilds_a_lost_sale_counts_the_stream_s_units_in_flight():
    sale = live_sale(quantity=10, limit=1)
    for _ in range(3):
        buy(client_for(UserFactory()), sale.pk)  # three entries in the stream, none persisted
    get_redis().delete(sale_keys(sale.pk).meta)  # the meta is lost, the stream is not
    plan = sale_preheat(sale_id=sale.pk)
    assert plan.inflight == 3
    assert get_redis().hget(sale_keys(sale.pk).meta, "inflight") == "3"
    assert plan.stock == 7


def test_a_committed_batch_not_yet_settled_counts_once_in_a_preheat():
    from orders import services

    sale = live_sale(quantity=10, limit=1)
    buy(client_for(UserFactory()), sale.pk)
    real = services.stream_consumer.settle
    services.stream_consumer.settle = lambda **kwargs: 0  # the batch commits, and its settle is lost
    try:
        reservations_drain(sale_id=sale.pk)
    finally:
        services.stream_consumer.settle = real
    plan = sale_preheat(sale_id=sale.pk, force=True)
    assert plan.db_sold == 1
    assert plan.inflight == 0  # the entry is in the DB already: not in flight a second time
    assert plan.stock == 9
