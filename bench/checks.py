"""Drain the reservation streams, then check what must hold whatever the load did.

Per sale: sold = accepted ≤ stock (no oversell), every accepted purchase is an order (nothing
lost), no reservation twice and nobody over the per-user limit (no duplicates), and Redis agrees
with the database (stock, buyers' counts, nothing left in flight).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connections
from django.db.models import Count, Q, Sum

from config.redis import get_redis
from flashsale.models import FlashSale
from inventory.models import Stock
from inventory.redis_schema import sale_keys
from inventory.selectors import sale_bucket_count
from orders.models import LIVE_STATUSES, Order


def _all_buckets(sale_id: int) -> list:
    """The keys of every bucket of the sale (one for a one-bucket sale)."""
    return [sale_keys(sale_id, b) for b in range(sale_bucket_count(sale_id))]


def stream_state(sale_id: int) -> tuple[int, int]:
    """(stream length, in-flight units) of a sale, its buckets summed."""
    pipe = get_redis().pipeline(transaction=False)
    for keys in _all_buckets(sale_id):
        pipe.xlen(keys.stream)
        pipe.hget(keys.meta, "inflight")
    values = pipe.execute()
    return sum(int(v) for v in values[0::2]), sum(int(v or 0) for v in values[1::2])


def drain(sale_id: int, *, timeout: float = 120.0, kick_every: float = 2.0) -> float:
    """Wake the persister until the sale's stream is empty; returns the seconds it took."""
    from orders.tasks import reservations_drain_task

    t0 = time.monotonic()
    last_kick = 0.0
    while True:
        xlen, inflight = stream_state(sale_id)
        if xlen == 0 and inflight == 0:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(
                f"sale {sale_id}: stream not drained after {timeout:.0f}s ({xlen} entries, {inflight} in flight)"
            )
        if time.monotonic() - last_kick >= kick_every:
            reservations_drain_task.delay(sale_id)
            last_kick = time.monotonic()
        time.sleep(0.05)


@dataclass
class SaleCheck:
    label: str
    sale_id: int
    stock: int
    accepted: int  # purchases the system accepted (the Lua script's OK count, or the view's 202s)
    client_accepted: int | None  # 202s the load generator saw (≤ accepted: a stopped thread misses some)
    orders: int
    failed: int
    db_sold: int  # the SKU's Stock.sold
    live_units: int
    redis_stock: int | None
    redis_bought: int | None
    inflight: int
    stream_len: int
    dup_reservations: int
    over_limit_users: int
    given_accepted: int | None = None  # what the caller said was accepted (None: counted here)

    @property
    def oversell(self) -> int:
        over = max(0, self.db_sold - self.stock) + max(0, self.live_units - self.stock)
        if self.redis_stock is not None:
            over += max(0, -self.redis_stock)
        return over

    @property
    def lost(self) -> int:
        seen = max(self.accepted, self.client_accepted or 0)
        return max(0, seen - self.orders) + self.stream_len

    @property
    def duplicates(self) -> int:
        return self.dup_reservations + self.over_limit_users

    @property
    def drift(self) -> int:
        """Redis against the DB: |redis stock − (stock − DB sold)| + |buyers' counts − DB units|."""
        if self.redis_stock is None:
            return 0
        return (
            abs(self.redis_stock - (self.stock - self.db_sold))
            + abs((self.redis_bought or 0) - self.live_units)
            + self.inflight
        )

    @property
    def ok(self) -> bool:
        return (
            self.oversell == self.lost == self.duplicates == self.drift == 0
            and self.failed == 0
            and self.db_sold == self.live_units
            and self.accepted - self.failed == self.live_units
        )

    def line(self) -> str:
        redis = (
            "-"
            if self.redis_stock is None
            else f"stock {self.redis_stock}, bought {self.redis_bought}, in flight {self.inflight}"
        )
        client = "" if self.client_accepted is None else f" (client saw {self.client_accepted})"
        verdict = "OK" if self.ok else "VIOLATED"
        return (
            f"  {self.label:<28} stock {self.stock:>7}  accepted {self.accepted:>7}{client}  orders {self.orders:>7}"
            f"  failed {self.failed}  DB sold {self.db_sold:>7}  Redis: {redis}  oversell {self.oversell}"
            f"  lost {self.lost}  duplicates {self.duplicates}  drift {self.drift}  {verdict}"
        )


def check_sale(
    sale: FlashSale,
    label: str,
    *,
    accepted: int | None = None,
    client_accepted: int | None = None,
    redis_backed: bool = True,
) -> SaleCheck:
    """``accepted`` defaults to the purchase script's own OK counter for the sale."""
    r = get_redis()
    if redis_backed:
        buckets = _all_buckets(sale.pk)
        if accepted is None:
            accepted = sum(int(r.hget(keys.stats, "purchase:OK") or 0) for keys in buckets)
        redis_stock = sum(int(r.get(keys.stock) or 0) for keys in buckets)
        redis_bought = sum(int(v) for keys in buckets for v in r.hvals(keys.bought))
        xlen, inflight = stream_state(sale.pk)
    else:
        redis_stock = redis_bought = None
        xlen = inflight = 0
    connections["default"].close_if_unusable_or_obsolete()
    orders = Order.objects.using("default").filter(sale_id=sale.pk)
    agg = orders.aggregate(
        n=Count("id"),
        failed=Count("id", filter=Q(status="failed")),
        live=Sum("quantity", filter=Q(status__in=LIVE_STATUSES)),
    )
    dup = orders.values("reservation_id").annotate(n=Count("id")).filter(n__gt=1).count()
    over = (
        orders.filter(status__in=LIVE_STATUSES)
        .values("user_id")
        .annotate(u=Sum("quantity"))
        .filter(u__gt=sale.per_user_limit)
        .count()
    )
    stock = Stock.objects.using("default").get(pk=sale.sku_id)
    return SaleCheck(
        label,
        sale.pk,
        stock.total,
        accepted if accepted is not None else agg["n"],
        client_accepted,
        agg["n"],
        agg["failed"],
        stock.sold,
        agg["live"] or 0,
        redis_stock,
        redis_bought,
        inflight,
        xlen,
        dup,
        over,
        given_accepted=accepted if not redis_backed else None,
    )


def recheck(previous: SaleCheck, sale: FlashSale) -> SaleCheck:
    """The same check again, later (after every stream was drained)."""
    return check_sale(
        sale,
        previous.label,
        accepted=previous.given_accepted,
        client_accepted=previous.client_accepted,
        redis_backed=previous.redis_stock is not None,
    )
