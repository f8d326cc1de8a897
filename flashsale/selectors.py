"""Reads of sales for shoppers and REST clients. A missing sale is None (the API makes it 404)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from config.cache_aside import cached, invalidate
from config.db_router import pinned_to_primary
from config.pagination import Page, keyset_page
from flashsale.models import FlashSale
from inventory.selectors import redis_remaining


def sales_visible() -> QuerySet[FlashSale]:
    return FlashSale.objects.visible().select_related("sku")


def sale_get(*, sale_id: int) -> FlashSale | None:
    return sales_visible().filter(pk=sale_id).first()


# The sale rows through the cache, with the three guards (config.cache_aside). Units left come from
# Redis on every read; a save of the sale or its SKU invalidates at once (flashsale.signals).
SALE_FRESH_SECONDS = 3
SALE_STALE_SECONDS = 30
SALE_MISSING_SECONDS = 5  # an unknown id's "no such sale" is kept this long (±jitter)
SALES_TAG = "{sales}"  # the list's entries and version key: one slot


def sale_tag(sale_id: int) -> str:
    """The hash tag of the sale's cached reads, the tag of its Redis keys (one slot)."""
    return f"{{{int(sale_id)}}}"


def sale_version_key(sale_id: int) -> str:
    return f"sale:{sale_tag(sale_id)}:v"


SALES_VERSION_KEY = f"sales:{SALES_TAG}:v"


def sale_get_cached(*, sale_id: int) -> FlashSale | None:
    """``sale_get`` through the cache: a storm of polls, or of unknown ids, costs Redis GETs, not DB queries."""
    return cached(
        f"sale:{sale_tag(sale_id)}:row",
        lambda: sale_get(sale_id=sale_id),
        fresh_seconds=SALE_FRESH_SECONDS,
        stale_seconds=SALE_STALE_SECONDS,
        missing_seconds=SALE_MISSING_SECONDS,
        version_key=sale_version_key(sale_id),
    )


def sale_known_cached(*, sale_id: int) -> bool:
    """Whether the sale exists at all (drafts too), read on the primary behind the cache, so that
    refusals on unknown ids (token, purchase, queue) cost no DB query per request."""

    def load():
        with pinned_to_primary():  # a sale created a moment ago: the replica may not have it yet
            return FlashSale.objects.filter(pk=sale_id).exists() or None

    found = cached(
        f"sale:{sale_tag(sale_id)}:known",
        load,
        fresh_seconds=SALE_STALE_SECONDS,
        missing_seconds=SALE_MISSING_SECONDS,
        version_key=sale_version_key(sale_id),
    )
    return bool(found)


def sales_page(*, size: int, cursor: str | None) -> Page:
    """A page of the visible sales, newest first (by id)."""
    return keyset_page(sales_visible(), column="id", size=size, cursor=cursor, parse=int)


def sales_first_page_cached(*, size: int) -> Page:
    return cached(
        f"sales:{SALES_TAG}:first:{size}",
        lambda: sales_page(size=size, cursor=None),
        fresh_seconds=SALE_FRESH_SECONDS,
        stale_seconds=SALE_STALE_SECONDS,
        version_key=SALES_VERSION_KEY,
    )


def sales_changed(sale_ids) -> None:
    """After a commit that changed these sales (or their SKU): cached rows and pages load anew."""
    invalidate([*(sale_version_key(i) for i in sale_ids), SALES_VERSION_KEY])


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
