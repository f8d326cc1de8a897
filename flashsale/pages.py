"""Shopper pages that a reload storm cannot turn into database reads.

The sale list and the sale page are rendered WITHOUT the request, so nothing per visitor (a
username, a CSRF token, a session) can reach the HTML, and that HTML is kept in the shared cache.
Each response is the cached HTML with two per-request values filled in, neither from the
database: the server's clock in ms (the countdown must not trust the browser's clock) and whether
the session is logged in (read from the session, which the cached_db engine serves from Redis;
``request.user`` would cost a query). The CSRF token reaches the page's script through its cookie.

Cache-aside with the three guards (``config.cache_aside``): a copy is fresh for PAGE_FRESH seconds
(jittered), then served stale for up to PAGE_KEEP more while the one request that wins the lock
renders it again; "no such sale" is cached too (briefly), so a storm on a bad id renders nothing.
A page shares the version key of its sale (or of the sale list), so a save in the admin is seen
at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control

from config.cache_aside import cached
from config.sessions import SessionStore
from flashsale import selectors

logger = logging.getLogger(__name__)

PAGE_FRESH = 3  # seconds a rendered page is served as it is
PAGE_KEEP = 60  # seconds a stale copy may still be served while one request renders a new one
VERSION = 3  # bump when the templates change shape, so a deploy does not serve old HTML
NOW_MARK = "%%server-now-ms%%"
AUTH_MARK = "%%auth%%"
PHASE_ORDER = {"live": 0, "scheduled": 1, "paused": 2, "ended": 3}


def page_cache_key(key: str) -> str:
    return f"page:v{VERSION}:{key}"


def sale_page_cache_key(sale_id: int) -> str:
    return page_cache_key(f"{selectors.sale_tag(sale_id)}:sale")


def cached_html(key: str, render: Callable[[], str | None], *, version_key: str) -> str | None:
    """The page's HTML (None: no such sale) through the cache; ``key`` carries ``version_key``'s hash tag."""
    return cached(
        page_cache_key(key),
        render,
        fresh_seconds=PAGE_FRESH,
        stale_seconds=PAGE_KEEP,
        missing_seconds=selectors.SALE_MISSING_SECONDS,
        version_key=version_key,
    )


def _with_remaining(sales: list) -> list:
    try:
        return selectors.with_remaining(sales)
    except redis.RedisError:  # Redis away: the page still renders, with "unavailable" stock
        logger.warning("remaining stock unavailable for the page", exc_info=True)
        for sale in sales:
            sale.remaining = None
        return sales


def pay_available() -> bool:
    """Whether the order-payment endpoint exists in this deployment (else Pay links to /orders/)."""
    try:
        resolve("/api/orders/00000000-0000-7000-8000-000000000000/pay")
    except Resolver404:
        return False
    return True


def _ms(dt) -> int:
    return int(dt.timestamp() * 1000)


def _page_context(**extra) -> dict:
    return {"auth": AUTH_MARK, "server_now": NOW_MARK, **extra}


def sale_list_html() -> str:
    def render() -> str:
        # The 100 that close last: every live and coming sale, then the most recently ended.
        sales = _with_remaining(list(selectors.sales_visible().order_by("-ends_at")[:100]))
        sales.sort(key=lambda s: (PHASE_ORDER.get(s.phase, 9), s.starts_at, s.pk))
        return render_to_string("flashsale/sale_list.html", _page_context(sales=sales))

    return cached_html(f"{selectors.SALES_TAG}:list", render, version_key=selectors.SALES_VERSION_KEY)


def sale_detail_html(sale_id: int) -> str | None:
    def render() -> str:
        sale = selectors.sale_get(sale_id=sale_id)
        if sale is None:
            return None
        _with_remaining([sale])
        path = reverse("sale-page", args=[sale.pk])
        return render_to_string(
            "flashsale/sale_detail.html",
            _page_context(
                sale=sale,
                starts_ms=_ms(sale.starts_at),
                ends_ms=_ms(sale.ends_at),
                pay_available=pay_available(),
                login_url=f"{reverse('login')}?next={path}",
                quantities=range(1, min(sale.per_user_limit, 10) + 1),
            ),
        )

    return cached_html(f"{selectors.sale_tag(sale_id)}:sale", render, version_key=selectors.sale_version_key(sale_id))


def server_now_ms() -> int:
    return time.time_ns() // 1_000_000


def session_is_authenticated(request: HttpRequest) -> bool:
    # Why not request.user, nor request.session: the first loads the user row, the second a session
    # the cache does not hold (a random cookie) from the DB. The cache alone answers here.
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return bool(SessionStore(key).cached_data().get(SESSION_KEY)) if key else False


def respond(request: HttpRequest, html: str) -> HttpResponse:
    """The cached HTML with this request's clock and login state filled in."""
    auth = "1" if session_is_authenticated(request) else "0"
    body = html.replace(NOW_MARK, str(server_now_ms())).replace(AUTH_MARK, auth)
    response = HttpResponse(body)
    # The body carries this request's clock and login state: no shared cache may keep it.
    patch_cache_control(response, private=True, no_cache=True)
    return response
