"""Preheat: the first reconciliation. Write a sale's selling state into Redis from the database.

Sellable = the expected stock (``reconciliation.drift``): quantity − DB sold − in flight, capped by
the SKU. When Redis lost the sale (restarted empty), the per-user counts and the returns already
made are rebuilt from the DB and the stream, so limits and exactly-once returns survive.

A sale split over buckets (``stock_buckets``) gets its sellable stock split as evenly as possible,
each buyer's count in their home bucket, each return guard and hold in its reservation's bucket.
Each bucket is one compare-and-set script; the buckets whose stock goes down are written first, so
that while a preheat is halfway the buckets together never offer more than the plan allows.
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
from inventory.redis_schema import home_bucket, reservation_id_bucket
from inventory.selectors import RedisSaleState, redis_sale_state
from inventory.services import QueueSettings, Rebuild, SaleWindow, preheat_write
from reconciliation.drift import expected_stock, read_db
from reconciliation.errors import PreheatBusy, PreheatRefused, RebucketRefused

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
    bucket_stocks: tuple[int, ...] = ()  # what each bucket gets (one entry for a one-bucket sale)


class _RedisMovedDuringPreheat(Exception):
    """Purchases or settles changed Redis between our read and the write: read again."""


def _ms(dt) -> int:
    return int(dt.timestamp() * 1000)


def split_evenly(total: int, buckets: int) -> list[int]:
    """``total`` units over ``buckets``, as evenly as possible (the first ones get the remainder)."""
    share, extra = divmod(total, buckets)
    return [share + (1 if b < extra else 0) for b in range(buckets)]


def _rebuild_of_bucket(bucket: int, buckets: int, bought: dict[int, int], returned, holds, stream_length) -> Rebuild:
    """The part of a rebuild that lives in one bucket: its buyers' counts, its returns and holds."""
    return Rebuild(
        bought={u: q for u, q in bought.items() if home_bucket(u, buckets) == bucket},
        returned=[rid for rid in returned if reservation_id_bucket(rid) == bucket],
        holds={rid: ms for rid, ms in holds.items() if reservation_id_bucket(rid) == bucket},
        stream_length=stream_length,
    )


def _plan(sale: FlashSale, befores: list[RedisSaleState]) -> tuple[PreheatPlan, list[Rebuild | None]]:
    db = read_db(sale.pk, sale.sku_id)
    buckets = sale.stock_buckets
    stream = [e for before in befores for e in before.stream]
    # In flight as reconciliation counts it: stream entries the DB does not have yet (a committed,
    # not yet settled batch is already in "DB sold").
    unpersisted = [e for e in stream if e.reservation_id not in db.orders]
    inflight = sum(e.quantity for e in unpersisted)
    # Rebuild when Redis lost the sale (a bucket restarted empty), or when the bucket count changes
    # (every buyer's count moves to their new home bucket; nothing is in flight then).
    rebucket = befores[0].preheated and befores[0].buckets != buckets
    rebuilds: list[Rebuild | None] = [None] * len(befores)
    if rebucket or not all(b.preheated for b in befores[:buckets]):
        bought = db.live_by_user()
        for e in unpersisted:
            bought[e.user_id] = bought.get(e.user_id, 0) + e.quantity
        # A preheat counts these returns through the DB; mark them so a late release is a no-op.
        # Holds: unpaid orders until their deadline, and the unpersisted entries until theirs.
        hold_ms = settings.ORDER_PAYMENT_TIMEOUT * 1000
        holds = {e.reservation_id: int(e.reserved_at.timestamp() * 1000) + hold_ms for e in unpersisted}
        holds |= db.holds()
        rebuilds = [_rebuild_of_bucket(b.bucket, buckets, bought, db.returned(), holds, len(b.stream)) for b in befores]
    stock = expected_stock(quantity=sale.quantity, live_sold=db.live_sold, sku_left=db.sku_left, inflight=inflight)
    generation = max(sale.generation, *(b.generation for b in befores)) + 1
    shares = split_evenly(stock, buckets) + [0] * (len(befores) - buckets)  # buckets past the count: emptied
    plan = PreheatPlan(
        sale.pk, generation, stock, db.live_sold, inflight, any(rebuilds), befores[0], tuple(shares[:buckets])
    )
    return plan, rebuilds


def _inflight_counter(before: RedisSaleState) -> int:
    """What the meta's in-flight counter holds after the preheat: the units of every unsettled entry
    (settle.lua takes them off as it acknowledges). Kept as it is on a preheated sale."""
    return before.inflight if before.preheated else sum(e.quantity for e in before.stream)


def _read_buckets(sale_id: int, buckets: int) -> list[RedisSaleState]:
    """Every bucket the sale has in Redis now or will have after this preheat, bucket 0 first."""
    first = redis_sale_state(sale_id, with_stream=True)
    count = max(buckets, first.buckets if first.preheated else 1)
    return [first] + [redis_sale_state(sale_id, with_stream=True, bucket=b) for b in range(1, count)]


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
    with pinned_to_primary():
        befores = _read_buckets(sale_id, FlashSale.objects.get(pk=sale_id).stock_buckets)
    with pinned_to_primary(), transaction.atomic(using="default"):
        # Why lock the sale row: two preheats of one sale must not interleave their generations.
        sale = FlashSale.objects.select_for_update().get(pk=sale_id)
        if len(befores) < sale.stock_buckets:
            raise _RedisMovedDuringPreheat()  # the bucket count changed since our read
        inflight = sum(b.inflight for b in befores if b.preheated)
        if befores[0].preheated and inflight > 0 and sale.phase == "live" and not force:
            raise PreheatRefused()
        if befores[0].preheated and befores[0].buckets != sale.stock_buckets and any(b.stream for b in befores):
            raise RebucketRefused()  # a buyer's count would move while their purchase is still in flight
        plan, rebuilds = _plan(sale, befores)
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
        _write_buckets(sale, plan, befores, rebuilds, window, queue)
        sale.generation = plan.generation
        sale.preheated_at = timezone.now()
        if sale.state in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED):
            sale.state = FlashSale.State.SCHEDULED
        sale.save(update_fields=["generation", "preheated_at", "state"])
    logger.info(
        "preheated sale %s: generation %s, stock %s %s (db sold %s, in flight %s, rebuild %s)",
        sale_id,
        plan.generation,
        plan.stock,
        list(plan.bucket_stocks),
        plan.db_sold,
        plan.inflight,
        plan.rebuild,
    )
    return plan


def _write_buckets(sale, plan: PreheatPlan, befores, rebuilds, window: SaleWindow, queue: QueueSettings) -> None:
    shares = list(plan.bucket_stocks) + [0] * (len(befores) - len(plan.bucket_stocks))
    # Why the buckets that go down first: halfway through, the buckets together hold at most what
    # the old or the new state allows, never the old stock of one plus the new stock of another.
    order = sorted(range(len(befores)), key=lambda b: shares[b] - (befores[b].stock or 0))
    for b in order:
        if not preheat_write(
            sale_id=sale.pk,
            seen=befores[b],
            inflight=_inflight_counter(befores[b]),
            generation=plan.generation,
            stock=shares[b],
            window=window,
            rebuild=rebuilds[b],
            queue=queue,
            buckets=sale.stock_buckets,
        ):
            raise _RedisMovedDuringPreheat()


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
