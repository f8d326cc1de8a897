"""Helpers of the browser tests: viewports, the shopper's actions, and what to check in Redis."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from config.redis import get_redis
from flashsale import pages
from flashsale.captcha import captcha_new
from flashsale.models import FlashSale
from inventory.redis_schema import sale_keys
from reconciliation.preheat import sale_preheat
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
    cache.delete(f"page:v{pages.VERSION}:sale:{sale_id}")


def open_sale_in(sale, seconds: float, stack) -> None:
    """Move the sale's start to ``seconds`` from now (DB, Redis window, page cache), as an operator would."""
    FlashSale.objects.filter(pk=sale.pk).update(starts_at=timezone.now() + timedelta(seconds=seconds))
    sale_preheat(sale_id=sale.pk)
    forget_cached_page(sale.pk)
    sale.refresh_from_db(using="default")
    stack.mariadb.wait_for_replica()
