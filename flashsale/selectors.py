"""Reads of sales for shoppers and REST clients."""
from __future__ import annotations

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


def with_remaining(sales: list[FlashSale]) -> list[FlashSale]:
    """Annotate each sale with ``remaining`` (units left in Redis; None if not preheated)."""
    remaining = redis_remaining([s.pk for s in sales])
    for sale in sales:
        sale.remaining = remaining.get(sale.pk)
    return sales
