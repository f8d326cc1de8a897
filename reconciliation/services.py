"""Reconcile Redis against the database, record every run, repair only on a stable reading.

Redis should hold: quantity − DB sold (live orders) − in flight (stream entries the DB does not
have yet), capped by the SKU's unsold units. Two repairs, both safe to race with live traffic:
- returns Redis never got (a closed order whose release was lost): replayed through the release
  script, which is guarded by reservation id, so a return happens once whoever does it;
- any other drift: the stock is set by a compare-and-set script, and only if nothing moved
  (generation, purchase sequence, in-flight counter, stock, release count) since the reading.

A sale split over buckets is read bucket by bucket, twice, and compared in sum: Redis holds the
buckets' stock plus the units in transit between them. A transfer left halfway (older than
FLASHSALE_TRANSFER_TIMEOUT_MS) is completed first; a drift is repaired in one bucket at a time.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from inventory.buckets import transfer_complete, transfers_overdue
from inventory.selectors import RedisSaleState, combined_state, redis_sale_buckets, sale_bucket_count
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


def stable_buckets(sale: FlashSale) -> tuple[list[RedisSaleState], Comparison | None] | None:
    """Redis, the DB, Redis again: every bucket's state and a comparison of their sum, if both
    Redis readings describe one moment, else None. The comparison is None when the sale is not
    preheated."""
    before = redis_sale_buckets(sale.pk, with_stream=True)
    if not before[0].preheated:
        return before, None
    db = read_db(sale.pk, sale.sku_id)
    after = redis_sale_buckets(sale.pk, with_stream=True)
    if [b.fingerprint for b in before] != [a.fingerprint for a in after]:
        return None  # purchases, settles, transfers or returns moved things between our reads
    return before, compare(sale, combined_state(before), db)


def stable_reading(sale: FlashSale) -> tuple[RedisSaleState, Comparison | None] | None:
    """As ``stable_buckets``, with the buckets summed into one state."""
    reading = stable_buckets(sale)
    return None if reading is None else (combined_state(reading[0]), reading[1])


def _complete_transfers(sale_id: int, buckets: list[RedisSaleState]) -> int:
    """Finish the transfers their own process gave up on (it died, or stalled past the timeout)."""
    overdue = transfers_overdue(tuple(t for b in buckets for t in b.transfers_out))
    for transfer in overdue:
        outcome = transfer_complete(sale_id=sale_id, transfer=transfer)
        logger.warning("reconciliation found transfer %s left halfway: %s", transfer, outcome)
    return len(overdue)


def _repair_bucket(sale_id: int, buckets: list[RedisSaleState], drift: int) -> bool:
    """Take a drift out of (or give it to) one bucket: the fullest for a surplus, bucket 0 for a
    shortfall. A surplus bigger than one bucket's stock is taken in several runs of the loop."""
    if drift < 0:
        seen = buckets[0]
        return stock_repair(sale_id=sale_id, seen=seen, stock=(seen.stock or 0) - drift)
    seen = max(buckets, key=lambda b: b.stock or 0)
    return stock_repair(sale_id=sale_id, seen=seen, stock=max(0, (seen.stock or 0) - drift))


def reconcile_sale(*, sale_id: int) -> ReconciliationRun | None:
    with pinned_to_primary():
        sale = FlashSale.objects.select_related("sku").filter(pk=sale_id).first()
    if sale is None or sale.state in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED):
        return None  # not preheated yet, by design: nothing in Redis to compare
    found: Comparison | None = None
    returned, moved = 0, False
    for attempt in range(1, ATTEMPTS + 1):
        reading = stable_buckets(sale)
        if reading is None:
            time.sleep(0.05 * attempt)
            continue
        buckets, cmp = reading
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
        if _complete_transfers(sale_id, buckets):
            moved = True
            continue  # read again: the buckets moved
        if cmp.unreturned:
            returned += _return_units(sale_id, cmp.unreturned)
            continue  # read again: the stock moved
        if cmp.drift == 0:
            run = _record(sale, found, attempt, returned, repaired=returned > 0 or moved)
            _expire_when_ended(sale)
            return run
        # Why compare-and-set: only a Redis that still looks exactly as we read it may be overwritten.
        if _repair_bucket(sale_id, buckets, cmp.drift):
            if len(buckets) > 1:
                moved = True
                continue  # a split sale: read again, the drift may need more than one bucket
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
    if sale_keys_expire(sale_id=sale.pk, at_ms=at_ms, buckets=sale_bucket_count(sale.pk)) > 0:
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
