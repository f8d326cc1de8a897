"""Helpers of the browser tests: viewports, the shopper's actions, and what to check in Redis."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from config.redis import get_redis
from flashsale import pages
from flashsale.captcha import captcha_new
from flashsale.models import FlashSale
from inventory.redis_schema import QueueField, sale_keys
from reconciliation.preheat import sale_preheat
from tests.factories import live_sale
from tests.helpers import client_for

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 667}
CAPTCHA_LABEL = "Type the characters in the picture"
# The device's clock is an hour behind: a countdown built on Date.now() would be an hour off.
SKEWED_DEVICE_CLOCK = """(() => {
  const skew = -3600 * 1000, Real = Date;
  class Skewed extends Real {
    constructor(...args) { if (args.length) super(...args); else super(Real.now() + skew); }
    static now() { return Real.now() + skew; }
  }
  window.Date = Skewed;
})();"""


def buy_on_page(page) -> None:
    expect(page.locator("#buy-button")).to_be_enabled()  # live, and the captcha has loaded
    page.get_by_label(CAPTCHA_LABEL).fill("passed")
    page.locator("#buy-button").click()


def api_buy(user, sale_id: int):
    """Another shopper buying through the API (captcha in test mode)."""
    client = client_for(user)
    answer = {"captcha_key": captcha_new()["key"], "captcha_answer": "passed"}
    token = client.post(f"/api/sales/{sale_id}/token", answer, format="json").json()["token"]
    return client.post(f"/api/sales/{sale_id}/purchase", {"token": token, "quantity": 1}, format="json")


def bought(sale_id: int, user) -> int:
    return int(get_redis().hget(sale_keys(sale_id).bought, str(user.pk)) or 0)


def forget_cached_page(sale_id: int) -> None:
    cache.delete_many([pages.sale_page_cache_key(sale_id, code) for code, _ in settings.LANGUAGES])


def open_sale_in(sale, seconds: float, stack) -> None:
    """Move the sale's start to ``seconds`` from now (DB, Redis window, page cache), as an operator would."""
    FlashSale.objects.filter(pk=sale.pk).update(starts_at=timezone.now() + timedelta(seconds=seconds))
    sale_preheat(sale_id=sale.pk)
    forget_cached_page(sale.pk)
    sale.refresh_from_db(using="default")
    stack.mariadb.wait_for_replica()


def queue_sale(*, quantity: int = 5, limit: int = 1, rate: int = 50, admission: int = 10, **kwargs):
    """A live (or, with ``starts_at``, coming) sale with a line, preheated."""
    return live_sale(
        quantity=quantity,
        limit=limit,
        queue_enabled=True,
        admit_per_second=rate,
        admission_seconds=admission,
        prequeue_seconds=kwargs.pop("prequeue_seconds", 600),
        **kwargs,
    )


def end_turn(sale_id: int, user) -> None:
    """The shopper's admission runs out now (the scripts read its end from the admitted set)."""
    get_redis().zadd(sale_keys(sale_id).queue_admitted, {str(user.pk): int(time.time() * 1000) - 1})


def hold_the_line(sale_id: int) -> None:
    """From now on nobody more is admitted at the rate (only lapses and returned units move the line)."""
    get_redis().hset(sale_keys(sale_id).queue, QueueField.ADMIT_PER_SECOND, 0)


def admitted_through_api(user, sale_id: int, timeout: float = 8.0) -> None:
    """Another shopper lines up through the API and waits for their turn."""
    client = client_for(user)
    place = client.post(f"/api/sales/{sale_id}/queue").json()
    deadline = time.monotonic() + timeout
    while place["state"] != "admitted":
        assert time.monotonic() < deadline, f"not admitted within {timeout} s: {place}"
        time.sleep(0.1)  # Why: the line admits at its rate; a poll is what moves it here (no beat in tests)
        place = client.get(f"/api/sales/{sale_id}/queue").json()
