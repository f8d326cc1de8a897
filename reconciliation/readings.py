"""Consistent readings of one sale: Redis in one MULTI snapshot, the DB in one SELECT."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Subquery

from config.db_router import pinned_to_primary
from inventory.keys import sale_keys
from inventory.redis_client import get_redis
from inventory.models import Stock
from orders.models import LIVE_STATUSES, Order


@dataclass(frozen=True)
class RedisReading:
    preheated: bool
    generation: str
    seq: str
    inflight_counter: str
    stock: str | None
    released: frozenset[str]
    stream: tuple[tuple[str, int], ...]  # (reservation_id, qty) of entries not yet settled

    @property
    def fingerprint(self) -> tuple:
        """What must not change between two readings for them to describe one moment."""
        return (self.generation, self.seq, self.inflight_counter, self.stock, len(self.released))


def read_redis(sale_id: int) -> RedisReading:
    keys = sale_keys(sale_id)
    # MULTI/EXEC: counters, stock, stream and release guards as of one instant.
    pipe = get_redis().pipeline(transaction=True)
    pipe.hmget(keys.meta, "gen", "seq", "inflight")
    pipe.get(keys.stock)
    pipe.hkeys(keys.released)
    pipe.xrange(keys.stream)
    (gen, seq, inflight), stock, released, entries = pipe.execute()
    stream = tuple(
        (f["rid"], int(f["qty"])) for _, f in entries if f and f.get("rid") and str(f.get("qty", "")).isdigit()
    )
    return RedisReading(gen is not None, gen or "", seq or "0", inflight or "0", stock, frozenset(released), stream)


@dataclass(frozen=True)
class DbReading:
    live_sold: int
    sku_left: int  # the SKU's unsold units (total − sold), from the same statement
    orders: dict[str, tuple[str, int, bool]]  # reservation_id -> (status, qty, stock_returned)

    def returned(self) -> dict[str, int]:
        return {rid: qty for rid, (_, qty, back) in self.orders.items() if back}


def read_db(sale_id: int, sku_id: int) -> DbReading:
    left = Stock.objects.filter(sku_id=sku_id).values_list(F("total") - F("sold"))[:1]
    with pinned_to_primary():
        # One statement, one snapshot: orders, their returns and the SKU's stock as of one instant
        # (a batch committing between two SELECTs would otherwise be half counted).
        rows = list(Order.objects.filter(sale_id=sale_id).annotate(sku_left=Subquery(left))
                    .values_list("reservation_id", "status", "quantity", "stock_returned", "sku_left"))
        sku_left = rows[0][4] if rows else Stock.objects.filter(sku_id=sku_id).values_list(F("total") - F("sold"), flat=True).first()
    live = set(LIVE_STATUSES)
    return DbReading(
        live_sold=sum(qty for _, status, qty, _, _ in rows if status in live),
        sku_left=sku_left or 0,
        orders={rid: (status, qty, back) for rid, status, qty, back, _ in rows},
    )
