"""The preheat lifecycle: published (preheat pending) -> preheated by beat PREHEAT_AHEAD_SECONDS
before the start -> selling -> ended; once persisted and reconciled the sale's keys expire a grace
period after the end, and an ended sale is still answered 409 from its row, never 503."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.redis import get_redis
from flashsale.errors import SaleNotPreheated
from flashsale.models import FlashSale
from flashsale.services import sale_pause
from inventory.redis_schema import sale_keys
from inventory.services import sale_keys_expire
from orders.lifecycle import order_pay
from orders.models import Order
from orders.services import reservations_drain
from reconciliation.models import ReconciliationRun
from reconciliation.preheat import sale_publish, sales_preheat_due
from reconciliation.services import reconcile_sale
from tests.factories import SaleFactory, UserFactory, live_sale
from tests.helpers import buy, client_for, real_db, redis_stock, token_for

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _state(sale) -> str:
    return FlashSale.objects.using("default").get(pk=sale.pk).state


def test_a_published_sale_waits_for_its_preheat_until_its_start_is_near(settings):
    settings.PREHEAT_AHEAD_SECONDS = 300
    sale = SaleFactory(
        quantity=7, starts_at=timezone.now() + timedelta(hours=2), ends_at=timezone.now() + timedelta(hours=3)
    )
    assert sale_publish(sale_id=sale.pk) is True
    assert _state(sale) == FlashSale.State.PUBLISHED
    assert sales_preheat_due() == []
    assert redis_stock(sale.pk) is None
    FlashSale.objects.filter(pk=sale.pk).update(starts_at=timezone.now() + timedelta(seconds=200))
    assert sales_preheat_due() == [sale.pk]
    assert _state(sale) == FlashSale.State.SCHEDULED
    assert redis_stock(sale.pk) == 7


def test_publishing_a_sale_that_starts_soon_preheats_it_at_once(settings):
    settings.PREHEAT_AHEAD_SECONDS = 300
    sale = SaleFactory(quantity=4, starts_at=timezone.now() + timedelta(seconds=60))
    sale_publish(sale_id=sale.pk)
    assert redis_stock(sale.pk) == 4


def test_a_published_sale_not_preheated_yet_answers_not_started_not_503():
    sale = SaleFactory(
        starts_at=timezone.now() + timedelta(hours=2),
        ends_at=timezone.now() + timedelta(hours=3),
        state=FlashSale.State.PUBLISHED,
    )
    response = client_for(UserFactory()).post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert response.status_code == 409
    assert response.json()["details"] == {"phase": "scheduled"}


def _ended_and_settled(settings, *, pay: bool = True):
    """A sale that sold one unit (paid, unless ``pay`` is off) and then ended."""
    settings.SALE_KEYS_GRACE_SECONDS = 3600
    sale = live_sale(quantity=5)
    shopper = UserFactory()
    assert buy(client_for(shopper), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    if pay:
        order_pay(number=Order.objects.using("default").get().number, user_id=shopper.pk)
    FlashSale.objects.filter(pk=sale.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(seconds=1)
    )
    return sale


def test_an_ended_sale_reconciled_in_agreement_gets_its_keys_an_expiry_after_the_grace(settings):
    sale = _ended_and_settled(settings)
    assert reconcile_sale(sale_id=sale.pk).drift == 0
    ttl_ms = get_redis().pttl(sale_keys(sale.pk).stock)
    assert 3_500_000 < ttl_ms <= 3_600_000  # ends a second ago + one hour of grace
    assert all(get_redis().pttl(key) > 0 for key in sale_keys(sale.pk).lifetime() if get_redis().exists(key))


def test_an_ended_sale_with_an_unpaid_hold_keeps_its_keys(settings):
    sale = _ended_and_settled(settings, pay=False)
    reconcile_sale(sale_id=sale.pk)
    assert get_redis().pttl(sale_keys(sale.pk).stock) == -1  # no expiry: the unpaid units may come back


def test_an_ended_sale_with_entries_still_in_the_stream_keeps_its_keys(settings):
    sale = live_sale(quantity=5)
    buy(client_for(UserFactory()), sale.pk)  # accepted, not persisted
    assert sale_keys_expire(sale_id=sale.pk, at_ms=1) == 0
    assert redis_stock(sale.pk) == 4


def test_a_purchase_on_an_ended_sale_whose_keys_expired_is_409_ended_never_503(settings):
    sale = _ended_and_settled(settings)
    FlashSale.objects.filter(pk=sale.pk).update(ends_at=timezone.now() + timedelta(hours=1))
    shopper = client_for(UserFactory())
    token = token_for(shopper, sale.pk)  # minted while the sale was open
    FlashSale.objects.filter(pk=sale.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert sale_keys_expire(sale_id=sale.pk, at_ms=1) > 0  # the grace is over: the keys are gone
    assert not get_redis().exists(sale_keys(sale.pk).meta)
    response = buy(shopper, sale.pk, token=token)
    assert response.status_code == 409
    assert response.json()["code"] == "not_live"
    assert response.json()["details"] == {"phase": "ended"}


def test_a_token_for_an_ended_sale_whose_keys_expired_is_409_too(settings):
    sale = _ended_and_settled(settings)
    sale_keys_expire(sale_id=sale.pk, at_ms=1)
    response = client_for(UserFactory()).post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert response.status_code == 409
    assert response.json()["details"] == {"phase": "ended"}


def test_reconciliation_skips_an_ended_sale_whose_keys_are_gone(settings):
    sale = _ended_and_settled(settings)
    sale_keys_expire(sale_id=sale.pk, at_ms=1)
    assert reconcile_sale(sale_id=sale.pk) is None
    assert not ReconciliationRun.objects.using("default").filter(sale=sale).exists()


def test_a_published_sale_cannot_be_paused_before_its_preheat():
    sale = SaleFactory(
        starts_at=timezone.now() + timedelta(hours=2),
        ends_at=timezone.now() + timedelta(hours=3),
        state=FlashSale.State.PUBLISHED,
    )
    with pytest.raises(SaleNotPreheated):
        sale_pause(sale_id=sale.pk)
    assert _state(sale) == FlashSale.State.PUBLISHED  # beat will still preheat it


def _ended_split_sale(settings):
    """A split sale (4 buckets) that sold nothing and then ended."""
    settings.SALE_KEYS_GRACE_SECONDS = 3600
    sale = live_sale(quantity=8, stock_buckets=4)
    FlashSale.objects.filter(pk=sale.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(seconds=1)
    )
    return sale


def test_an_ended_split_sale_reconciled_in_agreement_gets_an_expiry_on_every_buckets_stock(settings):
    sale = _ended_split_sale(settings)
    assert reconcile_sale(sale_id=sale.pk).drift == 0
    assert all(get_redis().pttl(sale_keys(sale.pk, bucket).stock) > 0 for bucket in range(4))


def test_an_ended_split_sale_keeps_bucket_zero_while_another_bucket_still_owes(settings):
    sale = _ended_split_sale(settings)
    get_redis().xadd(sale_keys(sale.pk, 2).stream, {"rid": "unsettled"})  # an entry not persisted yet
    assert sale_keys_expire(sale_id=sale.pk, at_ms=1, buckets=4) == 0
    assert get_redis().exists(sale_keys(sale.pk).meta) == 1


def test_an_ended_split_sale_lets_every_bucket_go_once_nothing_is_owed(settings):
    sale = _ended_split_sale(settings)
    sale_keys_expire(sale_id=sale.pk, at_ms=1, buckets=4)
    assert not any(get_redis().exists(sale_keys(sale.pk, bucket).stock) for bucket in range(4))
