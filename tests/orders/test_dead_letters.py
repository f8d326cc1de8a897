"""Dead letters: parked with the entry's raw fields, listed per sale in the admin, replayed after
a fix (back on the stream exactly as written) or discarded, each recorded; a metric counts them."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import DataError
from django.urls import reverse

from config.redis import get_redis
from inventory.dead_letters import dead_letters_list
from inventory.redis_schema import sale_keys
from orders import bulk
from orders.models import Order
from orders.services import reservations_drain
from orders.stream_consumer import park_poison
from tests.factories import UserFactory, live_sale
from tests.helpers import assert_invariants, buy, client_for, real_db

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("ops-dead", "ops@example.com", "x"))
    return client


def _page(sale) -> str:
    return reverse("admin:flashsale_flashsale_dead_letters", args=[sale.pk])


def _park_a_real_purchase(sale) -> tuple[str, dict]:
    """A shopper's accepted purchase, parked as the persister parks an entry it cannot read (the
    "bug" the operator fixes before replaying)."""
    assert buy(client_for(UserFactory()), sale.pk).status_code == 202
    [(entry_id, fields)] = get_redis().xrange(sale_keys(sale.pk).stream)
    park_poison(sale_id=sale.pk, raw=[(entry_id, fields)])
    return entry_id, fields


def test_an_unreadable_entry_is_parked_with_its_raw_fields():
    sale = live_sale(quantity=5)
    get_redis().xadd(sale_keys(sale.pk).stream, {"rid": "garbage", "qty": "lots"})
    reservations_drain(sale_id=sale.pk)
    [letter] = dead_letters_list(sale_id=sale.pk)
    assert letter.fields == {"rid": "garbage", "qty": "lots"}
    assert letter.replayable is True


def test_a_replay_after_the_fix_turns_the_parked_entry_into_its_order(operator):
    sale = live_sale(quantity=5)
    entry_id, fields = _park_a_real_purchase(sale)
    assert Order.objects.using("default").count() == 0
    operator.post(_page(sale), {"do": "replay", "entry_id": entry_id})
    assert dead_letters_list(sale_id=sale.pk) == []
    [(_new_id, replayed)] = get_redis().xrange(sale_keys(sale.pk).stream)
    assert replayed == fields  # exactly as the purchase wrote it
    reservations_drain(sale_id=sale.pk)
    assert Order.objects.using("default").get().reservation_id == fields["rid"]
    assert_invariants(sale, accepted_units=1)


def test_a_replay_and_a_discard_are_recorded_in_the_sales_history(operator):
    sale = live_sale(quantity=5)
    replayed, _ = _park_a_real_purchase(sale)
    operator.post(_page(sale), {"do": "replay", "entry_id": replayed})
    reservations_drain(sale_id=sale.pk)
    discarded, fields = _park_a_real_purchase(sale)
    operator.post(_page(sale), {"do": "discard", "entry_id": discarded})
    messages = list(LogEntry.objects.using("default").order_by("id").values_list("change_message", flat=True))
    assert messages[0].startswith(f"dead letter replay ok: entry={replayed} reservation=")
    assert messages[1] == f"dead letter discarded: entry={discarded} reservation={fields['rid']}"


def test_a_given_up_entry_cannot_be_replayed_because_its_units_went_back(operator, monkeypatch):
    sale = live_sale(quantity=5)
    assert buy(client_for(UserFactory()), sale.pk).status_code == 202

    def refusing(**kwargs):
        raise DataError("Out of range value")  # the database refuses this reservation every time

    monkeypatch.setattr(bulk, "insert_orders", refusing)
    reservations_drain(sale_id=sale.pk)
    [letter] = dead_letters_list(sale_id=sale.pk)
    assert letter.reason == "unprocessable"
    assert letter.replayable is False
    page = operator.post(_page(sale), {"do": "replay", "entry_id": letter.entry_id}, follow=True)
    assert b"A replay would sell them twice" in page.content
    assert len(dead_letters_list(sale_id=sale.pk)) == 1
    assert get_redis().xlen(sale_keys(sale.pk).stream) == 0


def test_the_admin_page_lists_a_sales_dead_letters(operator):
    sale = live_sale(quantity=5)
    entry_id, fields = _park_a_real_purchase(sale)
    page = operator.get(_page(sale)).content.decode()
    assert entry_id in page
    assert fields["rid"] in page


def test_metrics_count_each_sales_dead_letters(client, settings, stack):
    settings.METRICS_TOKEN = "t"
    sale = live_sale(quantity=5)
    _park_a_real_purchase(sale)
    stack.mariadb.wait_for_replica()
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    assert f'flashsale_dead_letters{{sale="{sale.pk}"}} 1.0' in text


def test_a_letter_is_stored_as_json():
    sale = live_sale(quantity=5)
    entry_id, fields = _park_a_real_purchase(sale)
    stored = json.loads(get_redis().hget(sale_keys(sale.pk).dead_letters, entry_id))
    assert stored["fields"] == fields


def test_a_split_sales_dead_letter_in_another_bucket_is_listed_with_its_bucket():
    sale = live_sale(quantity=8, stock_buckets=4)
    get_redis().xadd(sale_keys(sale.pk, 2).stream, {"rid": "garbage", "qty": "lots"})
    reservations_drain(sale_id=sale.pk)
    [letter] = dead_letters_list(sale_id=sale.pk)
    assert letter.bucket == 2


def test_a_replay_from_the_admin_puts_a_split_sales_letter_back_on_its_own_buckets_stream(operator):
    sale = live_sale(quantity=8, stock_buckets=4)
    entry_id = get_redis().xadd(sale_keys(sale.pk, 3).stream, {"rid": "garbage", "qty": "lots"})
    park_poison(sale_id=sale.pk, raw=[(entry_id, {"rid": "garbage", "qty": "lots"})], bucket=3)
    operator.post(_page(sale), {"do": "replay", "entry_id": entry_id, "bucket": "3"})
    assert get_redis().xlen(sale_keys(sale.pk, 3).stream) == 1


def test_metrics_count_a_split_sales_dead_letters_over_every_bucket(client, settings, stack):
    settings.METRICS_TOKEN = "t"
    sale = live_sale(quantity=8, stock_buckets=4)
    for bucket in (0, 1, 3):
        park_poison(sale_id=sale.pk, raw=[(f"1-{bucket}", {"rid": "garbage"})], bucket=bucket)
    stack.mariadb.wait_for_replica()
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    assert f'flashsale_dead_letters{{sale="{sale.pk}"}} 3.0' in text
