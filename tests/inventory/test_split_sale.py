"""A hot sale split over buckets (``stock_buckets``): the split, the home bucket, transfers, sold out
over every bucket, and the sums everything else reads. Real Redis (each test on one redis-server and
on the 3-master Redis Cluster), real MariaDB, real threads."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from config.errors import ServiceUnavailable
from config.redis import get_redis
from flashsale.errors import SoldOut
from flashsale.models import FlashSale
from flashsale.services import purchase_accept, purchase_token_issue
from inventory.buckets import buckets_read, stock_transfer
from inventory.redis_schema import home_bucket, reservation_id_bucket, sale_keys
from inventory.scripts import script
from inventory.selectors import bucket_stocks, redis_remaining
from orders.lifecycle import order_expire_if_due
from orders.models import LIVE_STATUSES, Order
from orders.services import reservations_drain
from reconciliation.errors import RebucketRefused
from reconciliation.models import ReconciliationRun
from reconciliation.preheat import sale_preheat
from reconciliation.services import reconcile_sale
from tests.factories import live_sale, users
from tests.helpers import on_each_redis, real_db

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _buy(sale_id: int, user_id: int, quantity: int = 1) -> str:
    """Token, then purchase, through the services the API calls: 'accepted' or the refusal's code."""
    try:
        token = purchase_token_issue(sale_id=sale_id, user_id=user_id).token
        purchase_accept(sale_id=sale_id, quantity=quantity, token=token, idem_key=None, ip_bucket="t")
    except (SoldOut, ServiceUnavailable) as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001 - any other refusal is reported by its code
        return getattr(exc, "code", repr(exc))
    return "accepted"


def _homed(people, bucket: int, buckets: int) -> list:
    return [u for u in people if home_bucket(u.pk, buckets) == bucket]


def _sold(sale) -> int:
    live = Order.objects.using("default").filter(sale=sale, status__in=LIVE_STATUSES)
    return live.aggregate(n=Sum("quantity"))["n"] or 0


def test_preheat_splits_the_stock_over_the_buckets_as_evenly_as_possible():
    sale = live_sale(quantity=10, stock_buckets=4)
    assert bucket_stocks([sale.pk])[sale.pk] == [3, 3, 2, 2]


def test_each_bucket_is_a_hash_tag_of_its_own_and_bucket_0_is_the_sale_s():
    tags = [re.search(r"\{(.*)\}", sale_keys(42, b).stock).group(1) for b in range(3)]
    assert tags == ["42", "42.1", "42.2"]


def test_a_one_bucket_sale_s_reservation_id_keeps_today_s_form():
    sale = live_sale(quantity=5)
    (person,) = users(1, prefix="one")
    token = purchase_token_issue(sale_id=sale.pk, user_id=person.pk).token
    accepted = purchase_accept(sale_id=sale.pk, quantity=1, token=token, idem_key=None, ip_bucket="t")
    assert re.fullmatch(rf"{sale.pk}-[0-9a-f]{{24}}", accepted.reservation_id)


def test_a_shopper_s_token_count_and_reservation_live_in_their_home_bucket():
    sale = live_sale(quantity=40, stock_buckets=4)
    person = _homed(users(20, prefix="home"), 3, 4)[0]
    token = purchase_token_issue(sale_id=sale.pk, user_id=person.pk).token
    home = sale_keys(sale.pk, 3)
    assert get_redis().exists(home.token(person.pk))
    accepted = purchase_accept(sale_id=sale.pk, quantity=1, token=token, idem_key=None, ip_bucket="t")
    assert reservation_id_bucket(accepted.reservation_id) == 3
    assert get_redis().hget(home.bought, person.pk) == "1"


def test_2000_shoppers_on_300_units_in_4_buckets_sell_exactly_300_within_the_limit():
    sale = live_sale(quantity=300, limit=1, stock_buckets=4)
    people = users(2000, prefix="storm")
    attempts = [u.pk for u in people] + [u.pk for u in people[:400]]  # 400 shoppers try twice at once
    with ThreadPoolExecutor(32) as pool:
        outcomes = Counter(pool.map(lambda uid: _buy(sale.pk, uid), attempts))
    reservations_drain(sale_id=sale.pk)
    per_user = Order.objects.using("default").filter(sale=sale, status__in=LIVE_STATUSES).values("user_id")
    assert outcomes["accepted"] == 300, outcomes
    assert _sold(sale) == 300
    assert max(row["n"] for row in per_user.annotate(n=Sum("quantity"))) == 1
    assert redis_remaining([sale.pk])[sale.pk] == 0
    assert buckets_read(sale.pk, 4).in_transit == 0
    assert reconcile_sale(sale_id=sale.pk).drift == 0  # Redis = DB, in sum over the buckets
    assert set(outcomes) <= {"accepted", "sold_out", "limit_reached", "bad_token"}, outcomes


def test_with_the_buckets_drained_unevenly_no_shopper_is_refused_while_units_remain():
    sale = live_sale(quantity=40, limit=1, stock_buckets=4)  # 10 units in each bucket
    crowd = _homed(users(400, prefix="uneven"), 0, 4)[:40]  # all of them live in bucket 0
    with ThreadPoolExecutor(16) as pool:
        outcomes = Counter(pool.map(lambda u: _buy(sale.pk, u.pk), crowd))
    assert outcomes == Counter(accepted=40)


def test_a_purchase_of_several_units_gathers_them_from_several_buckets():
    sale = live_sale(quantity=4, limit=4, stock_buckets=4)  # one unit in each bucket
    (person,) = users(1, prefix="gather")
    assert _buy(sale.pk, person.pk, quantity=4) == "accepted"


def test_sold_out_is_answered_once_the_buckets_together_hold_less_than_asked():
    sale = live_sale(quantity=3, limit=5, stock_buckets=4)
    (person,) = users(1, prefix="short")
    assert _buy(sale.pk, person.pk, quantity=4) == "sold_out"


def test_units_in_transit_are_never_answered_sold_out():
    sale = live_sale(quantity=2, limit=1, stock_buckets=2)
    people = users(1, prefix="transit")
    keys = [sale_keys(sale.pk, b) for b in range(2)]
    for b in range(2):  # every unit given away by a transfer whose process died before the credit
        script("transfer_out")(keys=[keys[b].meta, keys[b].stock, keys[b].transfers_out], args=[f"dead{b}", 1 - b, 1])
    assert _buy(sale.pk, people[0].pk) == "sale_unavailable"


def test_a_transfer_that_died_halfway_is_completed_by_reconciliation(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "TRANSFER_TIMEOUT_MS": 0}  # every transfer is overdue at once
    sale = live_sale(quantity=8, stock_buckets=2)
    donor = sale_keys(sale.pk, 1)
    # The first script ran (units taken and recorded in the donor), the process died before the second.
    script("transfer_out")(keys=[donor.meta, donor.stock, donor.transfers_out], args=["halfway", 0, 3])
    run = reconcile_sale(sale_id=sale.pk)
    assert run.action == ReconciliationRun.Action.REPAIRED
    assert bucket_stocks([sale.pk])[sale.pk] == [7, 1]
    assert buckets_read(sale.pk, 2).in_transit == 0


def test_a_transfer_credited_but_not_closed_is_closed_by_reconciliation_without_a_second_credit(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "TRANSFER_TIMEOUT_MS": 0}
    sale = live_sale(quantity=8, stock_buckets=2)
    donor, home = sale_keys(sale.pk, 1), sale_keys(sale.pk, 0)
    taken, generation, ms = script("transfer_out")(
        keys=[donor.meta, donor.stock, donor.transfers_out], args=["late", 0, 2]
    )
    script("transfer_in")(keys=[home.meta, home.stock, home.transfers_in], args=["late", taken, generation, ms, ""])
    reconcile_sale(sale_id=sale.pk)
    assert bucket_stocks([sale.pk])[sale.pk] == [6, 2]
    assert buckets_read(sale.pk, 2).in_transit == 0


def test_a_transfer_moves_units_and_keeps_the_sum():
    sale = live_sale(quantity=10, stock_buckets=2)
    assert stock_transfer(sale_id=sale.pk, donor=1, home=0, wanted=4) == 4
    assert bucket_stocks([sale.pk])[sale.pk] == [9, 1]


def test_expiry_returns_the_units_to_the_reservation_s_bucket():
    sale = live_sale(quantity=8, stock_buckets=4)
    person = _homed(users(20, prefix="expire"), 2, 4)[0]
    assert _buy(sale.pk, person.pk) == "accepted"
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(sale=sale)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert order_expire_if_due(order_id=order.pk)
    assert bucket_stocks([sale.pk])[sale.pk] == [2, 2, 2, 2]
    assert get_redis().hget(sale_keys(sale.pk, 2).bought, person.pk) == "0"


def test_after_the_drain_reconciliation_finds_redis_equal_to_the_db_in_sum():
    sale = live_sale(quantity=30, limit=2, stock_buckets=3)
    people = users(12, prefix="recon")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda u: _buy(sale.pk, u.pk, quantity=2), people))
    reservations_drain(sale_id=sale.pk)
    run = reconcile_sale(sale_id=sale.pk)
    assert (run.drift, run.redis_stock, run.db_sold) == (0, 6, 24)


def test_changing_the_bucket_count_with_units_in_flight_is_refused():
    sale = live_sale(quantity=10, stock_buckets=2)
    (person,) = users(1, prefix="rebucket")
    assert _buy(sale.pk, person.pk) == "accepted"
    FlashSale.objects.filter(pk=sale.pk).update(stock_buckets=4)
    with pytest.raises(RebucketRefused):
        sale_preheat(sale_id=sale.pk, force=True)


def test_after_a_change_of_bucket_count_the_limit_still_counts_what_a_shopper_bought():
    sale = live_sale(quantity=10, limit=1, stock_buckets=2)
    person = _homed(users(30, prefix="moved"), 1, 2)[0]
    assert _buy(sale.pk, person.pk) == "accepted"
    reservations_drain(sale_id=sale.pk)
    new_count = next(n for n in range(3, 17) if home_bucket(person.pk, n) != 1)
    FlashSale.objects.filter(pk=sale.pk).update(stock_buckets=new_count)
    sale_preheat(sale_id=sale.pk)
    assert _buy(sale.pk, person.pk) == "limit_reached"
