"""An admin edit of a preheated sale keeps Redis in line with the database, or is refused with a
message that says what to do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from config.redis import get_redis
from flashsale.models import FlashSale
from inventory.redis_schema import MetaField, sale_keys
from tests.factories import UserFactory, live_sale
from tests.helpers import buy, client_for, real_db, redis_stock

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("ops-edit", "ops@example.com", "x"))
    return client


def _form(sale: FlashSale, **changes) -> dict:
    """The change form as the admin posts it, with ``changes`` applied."""
    values = {
        "sku": sale.sku_id,
        "title": sale.title,
        "price": sale.price,
        "quantity": sale.quantity,
        "starts_at": sale.starts_at,
        "ends_at": sale.ends_at,
        "per_user_limit": sale.per_user_limit,
        "admit_per_second": sale.admit_per_second,
        "admission_seconds": sale.admission_seconds,
        "prequeue_seconds": sale.prequeue_seconds,
        "stock_buckets": sale.stock_buckets,
        **changes,
    }
    data = {k: v for k, v in values.items() if k not in ("starts_at", "ends_at")}
    for name in ("starts_at", "ends_at"):
        data[f"{name}_0"] = values[name].strftime("%Y-%m-%d")
        data[f"{name}_1"] = values[name].strftime("%H:%M:%S")
    return data


def _save(operator, sale, **changes):
    url = reverse("admin:flashsale_flashsale_change", args=[sale.pk])
    return operator.post(url, _form(sale, **changes), follow=True)


def test_raising_a_live_sales_limit_moves_it_in_redis_at_once(operator):
    sale = live_sale(quantity=10, limit=1)
    _save(operator, sale, per_user_limit=3)
    assert get_redis().hget(sale_keys(sale.pk).meta, MetaField.PER_USER_LIMIT) == "3"
    shopper = client_for(UserFactory())
    assert [buy(shopper, sale.pk).status_code for _ in range(4)] == [202, 202, 202, 409]


def test_ending_a_live_sale_early_stops_purchases_at_once(operator):
    sale = live_sale(quantity=10)
    _save(operator, sale, ends_at=timezone.now().replace(microsecond=0) + timedelta(seconds=1))
    stored = FlashSale.objects.using("default").get(pk=sale.pk)
    assert get_redis().hget(sale_keys(sale.pk).meta, MetaField.ENDS_MS) == str(int(stored.ends_at.timestamp() * 1000))


def test_changing_a_started_sales_quantity_is_refused_with_what_to_do(operator):
    sale = live_sale(quantity=10)
    page = _save(operator, sale, quantity=20)
    assert b"This sale has started, so quantity can no longer change" in page.content
    assert b"create another sale" in page.content
    assert FlashSale.objects.using("default").get(pk=sale.pk).quantity == 10
    assert redis_stock(sale.pk) == 10


def test_editing_a_preheated_sale_before_its_start_preheats_it_again(operator):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    sale = live_sale(quantity=10, sku_total=100, starts_at=start, ends_at=start + timedelta(hours=1))
    _save(operator, sale, quantity=25, starts_at=start + timedelta(minutes=30))
    assert redis_stock(sale.pk) == 25
    stored = FlashSale.objects.using("default").get(pk=sale.pk)
    assert get_redis().hget(sale_keys(sale.pk).meta, MetaField.STARTS_MS) == str(
        int(stored.starts_at.timestamp() * 1000)
    )
