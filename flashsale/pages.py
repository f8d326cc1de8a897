"""Shopper pages that a reload storm cannot turn into database reads.

The sale list and the sale page are rendered WITHOUT the request, so nothing per visitor (a
username, a CSRF token, a session) can reach the HTML, and that HTML is kept in the shared cache,
one copy per language (the key names it: an English page is never served to a zh-hant visitor).
Each response is the cached HTML with two per-request values filled in, neither from the
database: the server's clock in ms (the countdown must not trust the browser's clock) and whether
the session is logged in (read from the session, which the cached_db engine serves from Redis;
``request.user`` would cost a query). The CSRF token reaches the page's script through its cookie.

Stale-while-revalidate: a copy is fresh for PAGE_FRESH seconds, then kept for PAGE_KEEP more;
when it goes stale, the one request that wins a ``cache.add`` lock renders it again while every
other request keeps serving the stale copy, so an expiring entry does not send all concurrent
requests to the replica at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.cache import patch_cache_control

from config.sessions import SessionStore
from flashsale import selectors

logger = logging.getLogger(__name__)

PAGE_FRESH = 3  # seconds a rendered page is served as it is
PAGE_KEEP = 60  # seconds a stale copy may still be served while one request renders a new one
LOCK_SECONDS = 5
VERSION = 3  # bump when the templates change shape, so a deploy does not serve old HTML
NOW_MARK = "%%server-now-ms%%"
AUTH_MARK = "%%auth%%"
MISSING = ""  # the cached answer for "no such sale": a storm on a bad id must not reach the DB either
PHASE_ORDER = {"live": 0, "scheduled": 1, "paused": 2, "ended": 3}


def _cache_call(method: str, *args, default=None):
    # Why swallow cache errors: the cache only saves work; a page must still render without it.
    try:
        return getattr(cache, method)(*args)
    except Exception:  # django-redis wraps connection errors in its own types
        logger.warning("page cache %s failed", method, exc_info=True)
        return default


def page_key(key: str, language: str | None = None) -> str:
    """The cache key of a page in a language (the active one by default)."""
    return f"page:v{VERSION}:{language or translation.get_language()}:{key}"


def cached_html(key: str, render: Callable[[], str]) -> str:
    key = page_key(key)
    now = time.time()
    entry = _cache_call("get", key)
    if entry is not None:
        fresh_until, html = entry
        if fresh_until > now or not _cache_call("add", f"{key}:lock", 1, LOCK_SECONDS, default=True):
            return html  # fresh, or stale while another request renders it
    html = render()
    _cache_call("set", key, (now + PAGE_FRESH, html), PAGE_KEEP)
    _cache_call("delete", f"{key}:lock")
    return html


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
        resolve("/api/orders/1/pay")
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
        return render_to_string("flashsale/sale_list.html", _page_context(sales=sales, here=reverse("sales-page")))

    return cached_html("sales", render)


def sale_detail_html(sale_id: int) -> str:
    def render() -> str:
        sale = selectors.sale_get(sale_id=sale_id)
        if sale is None:
            return MISSING
        _with_remaining([sale])
        path = reverse("sale-page", args=[sale.pk])
        return render_to_string(
            "flashsale/sale_detail.html",
            _page_context(
                sale=sale,
                here=path,
                starts_ms=_ms(sale.starts_at),
                ends_ms=_ms(sale.ends_at),
                pay_available=pay_available(),
                login_url=f"{reverse('login')}?next={path}",
                quantities=range(1, min(sale.per_user_limit, 10) + 1),
            ),
        )

    return cached_html(f"sale:{sale_id}", render)


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
