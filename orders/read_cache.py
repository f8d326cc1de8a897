"""A shopper's order reads through the cache: the order detail and the first page of their orders.

Cache-aside with the three guards (``config.cache_aside``). Every entry of one shopper shares the
hash tag ``{u<id>}`` and one version key; every change of any of their orders (created by the
persister, paid, cancelled, expired, cancelled by staff) writes a new version after its commit
(``orders_changed``), so the next read loads anew and a copy loaded before the change is never
served again. The loads sit on the read-your-writes path (``orders.consistency``): the commit's
GTID is noted before the version changes, so a load after the change never reads a replica that
misses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from config.cache_aside import cached, invalidate
from orders import selectors

logger = logging.getLogger(__name__)

FRESH_SECONDS = 30  # every change invalidates at once; this bounds a lost invalidation
STALE_SECONDS = 30
MISSING_SECONDS = 2


def _tag(user_id: int) -> str:
    return f"orders:{{u{int(user_id)}}}"


def _version_key(user_id: int) -> str:
    return f"{_tag(user_id)}:v"


def order_detail(*, user_id: int, number, render: Callable) -> dict | None:
    """``render(order)`` of the shopper's order, or None if it is not theirs or does not exist."""

    def load():
        order = selectors.order_for_user(user_id=user_id, number=number)
        return None if order is None else render(order)

    return cached(
        f"{_tag(user_id)}:order:{number}",
        load,
        fresh_seconds=FRESH_SECONDS,
        stale_seconds=STALE_SECONDS,
        missing_seconds=MISSING_SECONDS,
        version_key=_version_key(user_id),
    )


def first_page(*, user_id: int, size: int, render: Callable) -> dict:
    """The first page of the shopper's orders, unfiltered: ``{"results": [...], "next_cursor": ...}``."""

    def load():
        page = selectors.orders_page_for_user(user_id=user_id, size=size, cursor=None)
        return {"results": [render(o) for o in page.items], "next_cursor": page.next_cursor}

    return cached(
        f"{_tag(user_id)}:first:{size}",
        load,
        fresh_seconds=FRESH_SECONDS,
        stale_seconds=STALE_SECONDS,
        version_key=_version_key(user_id),
    )


def orders_changed(user_ids: Iterable[int]) -> None:
    """After the commit of a change to these users' orders (and after its GTID is noted)."""
    user_ids = list(user_ids)
    try:
        invalidate(_version_key(u) for u in user_ids)
    except Exception:  # Redis away: the copies age out within FRESH_SECONDS + STALE_SECONDS
        logger.warning("could not invalidate the cached orders of %s users", len(user_ids), exc_info=True)
