"""Reads of sales for shoppers and REST clients."""
from __future__ import annotations

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404

from flashsale.models import FlashSale
from inventory.selectors import redis_remaining


def sales_visible() -> QuerySet[FlashSale]:
    return FlashSale.objects.exclude(state=FlashSale.State.DRAFT).select_related("sku")


def sale_get(*, sale_id: int) -> FlashSale:
    sale = sales_visible().filter(pk=sale_id).first()
    if sale is None:
        raise Http404
    return sale


SALE_ROW_SECONDS = 3  # the sale rows change rarely; their units left come from Redis on every read
_MISSING = "missing"


def sale_get_cached(*, sale_id: int) -> FlashSale:
    """``sale_get`` behind a short cache: a storm of stock polls costs Redis GETs, not DB queries."""
    key = f"sale-row:{sale_id}"
    sale = cache.get(key)
    if sale is None:
        sale = sales_visible().filter(pk=sale_id).first() or _MISSING
        cache.set(key, sale, SALE_ROW_SECONDS)
    if sale == _MISSING:
        raise Http404
    return sale


def sales_visible_cached() -> list[FlashSale]:
    sales = cache.get("sale-rows")
    if sales is None:
        sales = list(sales_visible())
        cache.set("sale-rows", sales, SALE_ROW_SECONDS)
    return sales


def with_remaining(sales: list[FlashSale]) -> list[FlashSale]:
    """Annotate each sale with ``remaining`` (units left in Redis; None if not preheated)."""
    remaining = redis_remaining([s.pk for s in sales])
    for sale in sales:
        sale.remaining = remaining.get(sale.pk)
    return sales


def sale_console(*, sale_id: int) -> dict | None:
    """The operator's live view of one sale: Redis, in flight, DB sold, drift, last reconciliation."""
    from django.db.models import Count, Sum

    from config.db_router import pinned_to_primary
    from inventory.selectors import redis_sale_state
    from orders.models import LIVE_STATUSES, Order
    from reconciliation.models import ReconciliationRun

    with pinned_to_primary():  # operators act on what they see: read the primary
        sale = FlashSale.objects.filter(pk=sale_id).first()
        if sale is None:
            return None
        by_status = dict(Order.objects.filter(sale=sale).values_list("status").annotate(n=Count("id")).order_by())
        db_sold = Order.objects.filter(sale=sale, status__in=LIVE_STATUSES).aggregate(n=Sum("quantity"))["n"] or 0
        last_run = ReconciliationRun.objects.filter(sale=sale).first()
    redis = redis_sale_state(sale_id)
    drift = None if redis.stock is None else redis.stock - (sale.quantity - db_sold - redis.inflight)
    return {
        "preheated": redis.preheated, "generation": redis.generation, "redis_state": redis.state,
        "redis_stock": redis.stock, "in_flight": redis.inflight, "db_sold": db_sold, "quantity": sale.quantity,
        "drift": drift, "last_run": last_run, "orders_by_status": by_status,
    }
