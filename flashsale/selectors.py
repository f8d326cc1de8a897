"""Reads of sales for shoppers and REST clients. A missing sale is None (the API makes it 404)."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from flashsale.models import FlashSale
from inventory.selectors import redis_remaining


def sales_visible() -> QuerySet[FlashSale]:
    return FlashSale.objects.visible().select_related("sku")


def sale_get(*, sale_id: int) -> FlashSale | None:
    return sales_visible().filter(pk=sale_id).first()


SALE_ROW_SECONDS = 3  # the sale rows change rarely; their units left come from Redis on every read
_MISSING = "missing"


def sale_get_cached(*, sale_id: int) -> FlashSale | None:
    """``sale_get`` behind a short cache: a storm of stock polls costs Redis GETs, not DB queries."""
    key = f"sale-row:{sale_id}"
    sale = cache.get(key)
    if sale is None:
        sale = sale_get(sale_id=sale_id) or _MISSING
        cache.set(key, sale, SALE_ROW_SECONDS)
    return None if sale == _MISSING else sale


def sales_visible_cached() -> list[FlashSale]:
    sales = cache.get("sale-rows")
    if sales is None:
        sales = list(sales_visible())
        cache.set("sale-rows", sales, SALE_ROW_SECONDS)
    return sales


def sales_with_open_queue() -> list[int]:
    """Sales whose waiting room is open now: from prequeue_seconds before the start to the end."""
    now = timezone.now()
    rows = FlashSale.objects.worth_sweeping().filter(queue_enabled=True, ends_at__gt=now)
    return [
        pk
        for pk, starts, pre in rows.values_list("pk", "starts_at", "prequeue_seconds")
        if starts - timedelta(seconds=pre) <= now
    ]


def with_remaining(sales: list[FlashSale]) -> list[FlashSale]:
    """Annotate each sale with ``remaining`` (units left in Redis; None if not preheated)."""
    remaining = redis_remaining([s.pk for s in sales])
    for sale in sales:
        sale.remaining = remaining.get(sale.pk)
    return sales
