"""Reconcile Redis against the database, record every run, repair only on a stable reading.

Redis should hold: quantity − DB sold (live orders) − in flight (stream entries the DB does not
have yet), capped by the SKU's unsold units. Two repairs, both safe to race with live traffic:
- returns Redis never got (a closed order whose release was lost): replayed through the release
  script, which is guarded by reservation id, so a return happens once whoever does it;
- any other drift: the stock is set by a compare-and-set script, and only if nothing moved
  (generation, purchase sequence, in-flight counter, stock, release count) since the reading.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from inventory.selectors import RedisSaleState, redis_sale_state
from inventory.services import sale_keys_expire, stock_release, stock_repair
from orders.models import Order
from reconciliation.drift import Comparison, compare, read_db
from reconciliation.models import ReconciliationRun

logger = logging.getLogger(__name__)
ATTEMPTS = 4
Action = ReconciliationRun.Action


def _return_units(sale_id: int, reservation_ids: list[str]) -> int:
    with pinned_to_primary():
        rows = Order.objects.filter(reservation_id__in=reservation_ids).values_list(
            "reservation_id", "user_id", "quantity"
        )
    # Guarded by reservation id: racing the order's own (late) release returns the units once.
    return sum(stock_release(sale_id=sale_id, reservation_id=rid, user_id=uid, quantity=qty) for rid, uid, qty in rows)


def stable_reading(sale: FlashSale) -> tuple[RedisSaleState, Comparison | None] | None:
    """Redis, the DB, Redis again: a comparison if both Redis readings describe one moment, else None.
    The comparison is None when the sale is not preheated."""
    before = redis_sale_state(sale.pk, with_stream=True)
    if not before.preheated:
        return before, None
    db = read_db(sale.pk, sale.sku_id)
    after = redis_sale_state(sale.pk, with_stream=True)
    if before.fingerprint != after.fingerprint:
        return None  # purchases, settles or returns moved things between our reads
    return before, compare(sale, before, db)


def reconcile_sale(*, sale_id: int) -> ReconciliationRun | None:
    with pinned_to_primary():
        sale = FlashSale.objects.select_related("sku").filter(pk=sale_id).first()
    if sale is None or sale.state in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED):
        return None  # not preheated yet, by design: nothing in Redis to compare
    found: Comparison | None = None
    returned = 0
    for attempt in range(1, ATTEMPTS + 1):
        reading = stable_reading(sale)
        if reading is None:
            time.sleep(0.05 * attempt)
            continue
        redis, cmp = reading
        if cmp is None and sale.phase == "ended":
            return None  # its keys expired after the end (or it never sold): nothing left to compare
        if cmp is None:
            return ReconciliationRun.objects.create(
                sale=sale,
                attempts=attempt,
                action=Action.UNAVAILABLE,
                detail="Redis holds no state for this sale (restarted empty?): "
                "purchases answer 503 until it is preheated again.",
            )
        found = found or cmp
        if cmp.unreturned:
            returned += _return_units(sale_id, cmp.unreturned)
            continue  # read again: the stock moved
        if cmp.drift == 0:
            run = _record(sale, found, attempt, returned, repaired=returned > 0)
            _expire_when_ended(sale)
            return run
        # Why compare-and-set: only a Redis that still looks exactly as we read it may be overwritten.
        if stock_repair(sale_id=sale_id, seen=redis, stock=cmp.expected):
            logger.warning(
                "reconciliation set sale %s's Redis stock from %s to %s (db sold %s, in flight %s)",
                sale_id,
                cmp.redis_stock,
                cmp.expected,
                cmp.db_sold,
                cmp.inflight,
            )
            return _record(sale, found, attempt, returned, repaired=True)
    return _record(sale, found, ATTEMPTS, returned, repaired=False, unstable=True)


def _expire_when_ended(sale: FlashSale) -> None:
    """An ended sale found in agreement: its keys may go a grace period after the end (the script
    refuses while anything is still owed: stream entries, units in flight, dead letters, holds)."""
    if sale.phase != "ended":
        return
    at_ms = int(sale.ends_at.timestamp() * 1000) + settings.SALE_KEYS_GRACE_SECONDS * 1000
    if sale_keys_expire(sale_id=sale.pk, at_ms=at_ms) > 0:
        logger.info("sale %s ended and reconciled: its Redis keys expire at %s ms", sale.pk, at_ms)


def _record(sale, cmp: Comparison | None, attempts: int, returned: int, *, repaired: bool, unstable: bool = False):
    run = ReconciliationRun(sale=sale, attempts=attempts, releases_repaired=returned)
    if cmp is not None:
        run.redis_stock, run.expected_stock, run.drift = cmp.redis_stock, cmp.expected, cmp.drift
        run.in_flight, run.db_sold = cmp.inflight, cmp.db_sold
    if unstable:
        run.action = Action.UNSTABLE
        run.detail = "The sale kept moving between readings; nothing more was changed. The next run tries again."
    elif repaired:
        run.action = Action.REPAIRED
        run.detail = (
            f"Redis stock was {run.redis_stock}, expected {run.expected_stock}; {returned} lost return(s) replayed."
        )
    else:
        run.action = Action.NONE
    run.save()
    return run


def reconcile_all() -> list[ReconciliationRun]:
    """Every sale worth sweeping: preheated, and open or closed in the last day."""
    with pinned_to_primary():
        ids = list(FlashSale.objects.worth_sweeping().values_list("id", flat=True))
    return [run for sale_id in ids if (run := reconcile_sale(sale_id=sale_id)) is not None]
