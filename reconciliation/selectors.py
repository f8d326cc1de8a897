"""The operator's numbers: one sale's console, and the latest drift of each sale."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery

from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from flashsale.queue_chart import queue_chart
from flashsale.queue_selectors import queue_reading, queue_samples
from inventory.selectors import bucket_stocks, combined_state, redis_sale_buckets
from orders.models import Order
from reconciliation.models import ReconciliationRun
from reconciliation.services import stable_reading


def sale_console(*, sale_id: int) -> dict | None:
    """The live view of one sale: Redis, in flight, DB sold and the drift, as reconciliation
    computes them, with the orders by status, the last reconciliation run and, for a sale with a
    waiting room, the line's numbers and chart."""
    with pinned_to_primary():  # operators act on what they see: read the primary
        sale = FlashSale.objects.filter(pk=sale_id).first()
        if sale is None:
            return None
        by_status = dict(Order.objects.filter(sale=sale).values_list("status").annotate(n=Count("id")).order_by())
        last_run = ReconciliationRun.objects.filter(sale=sale).first()
    reading = stable_reading(sale)
    # A sale on the move (purchases between the two reads) has no stable comparison, but Redis still says what it holds.
    redis, cmp = reading if reading is not None else (combined_state(redis_sale_buckets(sale_id)), None)
    line = queue_reading(sale_id=sale_id) if sale.queue_enabled else None
    if line is not None and not line.enabled:
        line = None  # preheated before the waiting room was switched on: Redis has no line yet
    return {
        "preheated": bool(redis and redis.preheated),
        "generation": redis.generation if redis else None,
        "redis_state": redis.state if redis else "",
        "redis_stock": redis.stock if redis else None,
        # A split sale's buckets side by side (one entry for a one-bucket sale), and the units in transit.
        "bucket_stocks": bucket_stocks([sale_id]).get(sale_id, []),
        "in_transit": sum(t.quantity for t in redis.transfers_out if t.transfer_id not in redis.credited),
        "in_flight": cmp.inflight if cmp else None,
        "db_sold": cmp.db_sold if cmp else None,
        "expected_stock": cmp.expected if cmp else None,
        "drift": cmp.drift if cmp else None,
        "unreturned": len(cmp.unreturned) if cmp else None,
        "stable": reading is not None,
        "quantity": sale.quantity,
        "last_run": last_run,
        "orders_by_status": by_status,
        "queue": line,
        "queue_chart": queue_chart(queue_samples(sale_id=sale_id)) if line else None,
    }


def latest_drift(sale_ids: list[int]) -> dict[int, int]:
    """The drift each sale's latest reconciliation run found (sales never reconciled are left out)."""
    if not sale_ids:
        return {}
    latest = ReconciliationRun.objects.filter(sale=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = (
        FlashSale.objects.filter(pk__in=sale_ids)
        .annotate(last_drift=Subquery(latest.values("drift")[:1]))
        .values_list("pk", "last_drift")
    )
    return {pk: drift for pk, drift in rows if drift is not None}
