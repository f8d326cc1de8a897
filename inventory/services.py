"""Writes of the stock: preheat a sale into Redis, and give a closed order's units back."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from config.db_router import pinned_to_primary
from flashsale.errors import PreheatRefused
from flashsale.models import FlashSale
from inventory import scripts
from inventory.keys import GROUP, sale_keys
from inventory.selectors import RedisSaleState, redis_sale_state, stream_inflight
from orders.models import LIVE_STATUSES, Order

logger = logging.getLogger(__name__)
PREHEAT_ATTEMPTS = 20


class _Moved(Exception):
    """Redis changed between our read and the script: read again."""


@dataclass(frozen=True)
class PreheatPlan:
    sale_id: int
    generation: int
    stock: int
    db_sold: int
    inflight: int
    rebuild: bool
    redis_before: RedisSaleState


def _ms(dt) -> int:
    return int(dt.timestamp() * 1000)


def _db_sold(sale: FlashSale) -> int:
    return Order.objects.filter(sale=sale, status__in=LIVE_STATUSES).aggregate(n=Sum("quantity"))["n"] or 0


def _rebuild_args(sale: FlashSale, stream_by_user: dict[int, int]) -> list:
    """Per-user counts (DB live orders + in flight) and the already-returned reservations."""
    bought: dict[int, int] = dict(stream_by_user)
    rows = Order.objects.filter(sale=sale, status__in=LIVE_STATUSES).values("user_id").annotate(n=Sum("quantity"))
    for row in rows:
        bought[row["user_id"]] = bought.get(row["user_id"], 0) + row["n"]
    args: list = []
    for user_id, qty in bought.items():
        args += ["b", user_id, qty]
    # A preheat counts these returns through the DB; mark them so a late release is a no-op.
    for rid in Order.objects.filter(sale=sale, stock_returned=True).values_list("reservation_id", flat=True):
        args += ["r", rid]
    return args


def _plan(sale: FlashSale, before: RedisSaleState) -> tuple[PreheatPlan, list]:
    rebuild = not before.preheated
    inflight, by_user = (stream_inflight(sale.id) if rebuild else (before.inflight, {}))
    stock = sale.sku.stock
    db_sold = _db_sold(sale)
    # Never offer more than the sale's quantity or the SKU's unsold units allow.
    sellable = max(0, min(sale.quantity - db_sold, stock.total - stock.sold) - inflight)
    generation = max(sale.generation, before.generation) + 1
    plan = PreheatPlan(sale.id, generation, sellable, db_sold, inflight, rebuild, before)
    return plan, (_rebuild_args(sale, by_user) if rebuild else [])


def sale_preheat(*, sale_id: int, force: bool = False, dry_run: bool = False) -> PreheatPlan:
    """Write the sale's selling state to Redis with a new generation. Idempotent; safe to repeat.

    Refuses a live sale with reservations in flight unless ``force``. With ``dry_run`` it only
    returns what it would write (the admin's preview).
    """
    for _ in range(PREHEAT_ATTEMPTS):
        try:
            return _preheat_once(sale_id=sale_id, force=force, dry_run=dry_run)
        except _Moved:
            continue  # purchases or settles moved the counters under us: read again
    raise PreheatRefused("The sale kept changing during preheat; try again.", code="preheat_busy")


def _preheat_once(*, sale_id: int, force: bool, dry_run: bool) -> PreheatPlan:
    keys = sale_keys(sale_id)
    # Read Redis before the DB: a batch that commits in between is then counted twice (undersell,
    # repaired by reconciliation), never zero times (oversell).
    before = redis_sale_state(sale_id)
    with pinned_to_primary(), transaction.atomic(using="default"):
        # Why lock the sale row: two preheats of one sale must not interleave their generations.
        sale = FlashSale.objects.select_for_update().select_related("sku__stock").get(pk=sale_id)
        if before.preheated and before.inflight > 0 and sale.phase == "live" and not force:
            raise PreheatRefused()
        plan, extra = _plan(sale, before)
        if dry_run:
            return plan
        state = "paused" if sale.state == FlashSale.State.PAUSED else "on"
        result = scripts.preheat(
            keys=[keys.meta, keys.stock, keys.bought, keys.released, keys.stream],
            args=[before.generation_raw, before.seq, before.inflight if before.preheated else plan.inflight,
                  plan.generation, plan.stock, _ms(sale.starts_at), _ms(sale.ends_at), sale.per_user_limit,
                  state, GROUP, 1 if plan.rebuild else 0, *extra],
        )
        if result != "OK":
            raise _Moved()
        sale.generation = plan.generation
        sale.preheated_at = timezone.now()
        if sale.state == FlashSale.State.DRAFT:
            sale.state = FlashSale.State.SCHEDULED
        sale.save(update_fields=["generation", "preheated_at", "state"])
    logger.info("preheated sale %s: generation %s, stock %s (db sold %s, in flight %s, rebuild %s)",
                sale_id, plan.generation, plan.stock, plan.db_sold, plan.inflight, plan.rebuild)
    return plan


def stock_release(*, sale_id: int, reservation_id: str, user_id: int, quantity: int) -> bool:
    """Give a closed order's units back to Redis, exactly once (guard keyed by reservation id)."""
    keys = sale_keys(sale_id)
    # Why a script: the guard and the two counters must move together or not at all.
    return bool(scripts.release(keys=[keys.meta, keys.stock, keys.bought, keys.released],
                                args=[reservation_id, user_id, quantity]))


def sale_set_selling(*, sale_id: int, on: bool) -> None:
    """The kill switch: pause or resume a sale in the DB and, at once, in Redis."""
    with transaction.atomic(using="default"):
        sale = FlashSale.objects.select_for_update().get(pk=sale_id)
        if sale.state == FlashSale.State.DRAFT:
            raise PreheatRefused("Preheat the sale before pausing or resuming it.", code="not_preheated")
        sale.state = FlashSale.State.SCHEDULED if on else FlashSale.State.PAUSED
        sale.save(update_fields=["state"])
        # Why a script: set the state only if the sale is preheated, in one step.
        scripts.set_state(keys=[sale_keys(sale_id).meta], args=["on" if on else "paused"])
