"""What Redis should hold for a sale, and how far it is off: the one definition of drift.

Expected stock = quantity − DB sold (live orders) − in flight (stream entries the DB does not have
yet), capped by the SKU's unsold units, and never below zero. Drift = Redis stock − expected.
Preheat writes the expected stock, reconciliation repairs toward it, the operator console shows it
and ``/metrics`` reports the drift of the latest reconciliation run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Subquery

from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from inventory.models import Stock
from inventory.selectors import RedisSaleState
from orders.models import LIVE_STATUSES, Order, OrderStatus


def expected_stock(*, quantity: int, live_sold: int, sku_left: int, inflight: int) -> int:
    # Never offer more than the sale's quantity or the SKU's unsold units allow.
    return max(0, min(quantity - live_sold, sku_left) - inflight)


@dataclass(frozen=True)
class OrderRow:
    user_id: int
    status: str
    quantity: int
    stock_returned: bool
    expires_at: datetime | None


@dataclass(frozen=True)
class DbReading:
    live_sold: int
    sku_left: int  # the SKU's unsold units (total − sold), from the same statement
    orders: dict[str, OrderRow]  # by reservation id

    def returned(self) -> list[str]:
        return [rid for rid, row in self.orders.items() if row.stock_returned]

    def holds(self) -> dict[str, int]:
        """Orders awaiting payment: reservation id -> their payment deadline (ms)."""
        return {
            rid: int(row.expires_at.timestamp() * 1000)
            for rid, row in self.orders.items()
            if row.status == OrderStatus.PENDING_PAYMENT and row.expires_at is not None
        }

    def live_by_user(self) -> dict[int, int]:
        by_user: dict[int, int] = {}
        for row in self.orders.values():
            if row.status in LIVE_STATUSES:
                by_user[row.user_id] = by_user.get(row.user_id, 0) + row.quantity
        return by_user


def read_db(sale_id: int, sku_id: int) -> DbReading:
    left = Stock.objects.filter(sku_id=sku_id).values_list(F("total") - F("sold"))[:1]
    with pinned_to_primary():
        # One statement, one snapshot: orders, their returns and the SKU's stock as of one instant
        # (a batch committing between two SELECTs would otherwise be half counted).
        rows = list(
            Order.objects.filter(sale_id=sale_id)
            .annotate(sku_left=Subquery(left))
            .values_list("reservation_id", "user_id", "status", "quantity", "stock_returned", "expires_at", "sku_left")
        )
        if rows:
            sku_left = rows[0][6]
        else:
            sku_left = Stock.objects.filter(sku_id=sku_id).values_list(F("total") - F("sold"), flat=True).first()
    orders = {
        rid: OrderRow(user_id, status, qty, back, expires) for rid, user_id, status, qty, back, expires, _ in rows
    }
    live = set(LIVE_STATUSES)
    return DbReading(
        live_sold=sum(r.quantity for r in orders.values() if r.status in live), sku_left=sku_left or 0, orders=orders
    )


@dataclass(frozen=True)
class Comparison:
    redis_stock: int
    expected: int
    inflight: int
    db_sold: int
    unreturned: list[str]  # closed orders whose units Redis has not got back

    @property
    def drift(self) -> int:
        return self.redis_stock - self.expected


def compare(sale: FlashSale, redis: RedisSaleState, db: DbReading) -> Comparison:
    """Redis (read with its stream) against the DB, for a preheated sale."""
    inflight = sum(e.quantity for e in redis.stream if e.reservation_id not in db.orders)
    expected = expected_stock(quantity=sale.quantity, live_sold=db.live_sold, sku_left=db.sku_left, inflight=inflight)
    unreturned = [rid for rid in db.returned() if rid not in redis.released]
    return Comparison(int(redis.stock or 0), expected, inflight, db.live_sold, unreturned)
