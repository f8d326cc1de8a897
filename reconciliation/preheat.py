"""Preheat: the first reconciliation. Write a sale's selling state into Redis from the database.

Sellable = the expected stock (``reconciliation.drift``): quantity − DB sold − in flight, capped by
the SKU. When Redis lost the sale (restarted empty), the per-user counts and the returns already
made are rebuilt from the DB and the stream, so limits and exactly-once returns survive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.db_router import pinned_to_primary
from config.errors import ApplicationError
from flashsale.models import FlashSale
from inventory.selectors import RedisSaleState, redis_sale_state
from inventory.services import QueueSettings, Rebuild, SaleWindow, preheat_write
from reconciliation.drift import expected_stock, read_db
from reconciliation.errors import PreheatBusy, PreheatRefused

logger = logging.getLogger(__name__)
PREHEAT_ATTEMPTS = 20


@dataclass(frozen=True)
class PreheatPlan:
    sale_id: int
    generation: int
    stock: int
    db_sold: int
    inflight: int
    rebuild: bool
    redis_before: RedisSaleState


class _RedisMovedDuringPreheat(Exception):
    """Purchases or settles changed Redis between our read and the write: read again."""


def _ms(dt) -> int:
    return int(dt.timestamp() * 1000)


def _plan(sale: FlashSale, before: RedisSaleState) -> tuple[PreheatPlan, Rebuild | None]:
    db = read_db(sale.pk, sale.sku_id)
    # In flight as reconciliation counts it: stream entries the DB does not have yet (a committed,
    # not yet settled batch is already in "DB sold").
    unpersisted = [e for e in before.stream if e.reservation_id not in db.orders]
    inflight = sum(e.quantity for e in unpersisted)
    rebuild = None
    if not before.preheated:
        # Redis lost the sale: rebuild the per-user counts from the DB and the unpersisted entries.
        bought = db.live_by_user()
        for e in unpersisted:
            bought[e.user_id] = bought.get(e.user_id, 0) + e.quantity
        # A preheat counts these returns through the DB; mark them so a late release is a no-op.
        # Holds: unpaid orders until their deadline, and the unpersisted entries until theirs.
        hold_ms = settings.ORDER_PAYMENT_TIMEOUT * 1000
        holds = {e.reservation_id: int(e.reserved_at.timestamp() * 1000) + hold_ms for e in unpersisted}
        rebuild = Rebuild(
            bought=bought, returned=db.returned(), holds={**holds, **db.holds()}, stream_length=len(before.stream)
        )
    stock = expected_stock(quantity=sale.quantity, live_sold=db.live_sold, sku_left=db.sku_left, inflight=inflight)
    generation = max(sale.generation, before.generation) + 1
    return PreheatPlan(sale.pk, generation, stock, db.live_sold, inflight, rebuild is not None, before), rebuild


def _inflight_counter(before: RedisSaleState) -> int:
    """What the meta's in-flight counter holds after the preheat: the units of every unsettled entry
    (settle.lua takes them off as it acknowledges). Kept as it is on a preheated sale."""
    return before.inflight if before.preheated else sum(e.quantity for e in before.stream)


def sale_preheat(*, sale_id: int, force: bool = False, dry_run: bool = False) -> PreheatPlan:
    """Write the sale's selling state to Redis with a new generation. Idempotent; safe to repeat.

    Refuses a live sale with reservations in flight unless ``force``. With ``dry_run`` it only
    returns what it would write (the admin's preview).
    """
    for _ in range(PREHEAT_ATTEMPTS):
        try:
            return _preheat_once(sale_id=sale_id, force=force, dry_run=dry_run)
        except _RedisMovedDuringPreheat:
            continue  # read again
    raise PreheatBusy()


def _preheat_once(*, sale_id: int, force: bool, dry_run: bool) -> PreheatPlan:
    # Read Redis before the DB: a batch that commits in between is then counted twice (undersell,
    # repaired by reconciliation), never zero times (oversell).
    before = redis_sale_state(sale_id, with_stream=True)
    with pinned_to_primary(), transaction.atomic(using="default"):
        # Why lock the sale row: two preheats of one sale must not interleave their generations.
        sale = FlashSale.objects.select_for_update().get(pk=sale_id)
        if before.preheated and before.inflight > 0 and sale.phase == "live" and not force:
            raise PreheatRefused()
        plan, rebuild = _plan(sale, before)
        if dry_run:
            return plan
        queue = QueueSettings(
            enabled=sale.queue_enabled,
            admit_per_second=sale.admit_per_second,
            admission_ms=sale.admission_seconds * 1000,
            prequeue_ms=sale.prequeue_seconds * 1000,
        )
        window = SaleWindow(
            _ms(sale.starts_at), _ms(sale.ends_at), sale.per_user_limit, selling=sale.state != FlashSale.State.PAUSED
        )
        if not preheat_write(
            sale_id=sale_id,
            seen=before,
            inflight=_inflight_counter(before),
            generation=plan.generation,
            stock=plan.stock,
            window=window,
            rebuild=rebuild,
            queue=queue,
        ):
            raise _RedisMovedDuringPreheat()
        sale.generation = plan.generation
        sale.preheated_at = timezone.now()
        if sale.state in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED):
            sale.state = FlashSale.State.SCHEDULED
        sale.save(update_fields=["generation", "preheated_at", "state"])
    logger.info(
        "preheated sale %s: generation %s, stock %s (db sold %s, in flight %s, rebuild %s)",
        sale_id,
        plan.generation,
        plan.stock,
        plan.db_sold,
        plan.inflight,
        plan.rebuild,
    )
    return plan


def sales_preheat_due() -> list[int]:
    """Beat: preheat every published sale whose start is PREHEAT_AHEAD_SECONDS away or nearer (and
    that has not ended). Returns the ids preheated; a refusal is logged and retried next tick."""
    now = timezone.now()
    with pinned_to_primary():
        due = list(
            FlashSale.objects.filter(
                state=FlashSale.State.PUBLISHED,
                starts_at__lte=now + timedelta(seconds=settings.PREHEAT_AHEAD_SECONDS),
                ends_at__gt=now,
            ).values_list("id", flat=True)
        )
    done = []
    for sale_id in due:
        try:
            sale_preheat(sale_id=sale_id)
        except ApplicationError as exc:
            logger.warning("scheduled preheat of sale %s refused: %s", sale_id, exc.message)
            continue
        done.append(sale_id)
    return done


def sale_publish(*, sale_id: int) -> bool:
    """Draft -> published (preheat pending). Preheats at once when the start is within
    PREHEAT_AHEAD_SECONDS ("on publish"); else beat does it then. False if it was not a draft."""
    with pinned_to_primary():
        # Why a conditional UPDATE: two operators publishing at once publish it once.
        moved = FlashSale.objects.filter(pk=sale_id, state=FlashSale.State.DRAFT).update(
            state=FlashSale.State.PUBLISHED
        )
    if moved:
        sales_preheat_due()
    return bool(moved)
