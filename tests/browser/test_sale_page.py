"""A shopper's journey through the sale page in a real browser, against the real services."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order
from orders.services import reservations_drain
from tests.browser.support import (
    CAPTCHA_LABEL,
    PHONE,
    SKEWED_DEVICE_CLOCK,
    api_buy,
    bought,
    buy_on_page,
    forget_cached_page,
    open_sale_in,
)
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db, redis_stock, stream_len

pytestmark = real_db


def test_a_shopper_logs_in_waits_for_the_countdown_and_buys(open_page, shoot, stack):
    sale = live_sale(quantity=5, limit=1, title="Launch-day phone", starts_at=timezone.now() + timedelta(minutes=2))
    UserFactory(username="journey")
    page = open_page("/sales/", init_script=SKEWED_DEVICE_CLOCK)
    shoot(page, "0-sale-list")
    page.get_by_role("link", name=re.compile("Launch-day phone")).click()
    shoot(page, "0-sale-anonymous")
    page.get_by_role("link", name="Log in to buy").click()
    shoot(page, "0-login")
    page.get_by_label("Username").fill("journey")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/sales/{sale.pk}/")  # back to the sale

    # The sale opens 4 s after the shopper is back (however long logging in took on this machine).
    open_sale_in(sale, 4, stack)
    page.reload()
    # The device clock is an hour off, yet the countdown is in seconds: it runs on the server's clock.
    expect(page.locator("#clock-label")).to_have_text("Starts in")
    expect(page.locator("#clock-value")).to_have_text(re.compile(r"^00:00:0[1-4]$"))
    expect(page.locator("#buy-button")).to_be_disabled()
    shoot(page, "1-countdown")

    expect(page.locator("#buy-button")).to_be_enabled(timeout=10_000)
    assert time.time() >= sale.starts_at.timestamp() - 0.5, "the button opened before the sale did"
    expect(page.locator("#clock-label")).to_have_text("Ends in")
    page.get_by_label(CAPTCHA_LABEL).fill("passed")
    shoot(page, "2-live-captcha")

    page.locator("#buy-button").click()
    status = page.locator("#status-text")
    expect(status).to_contain_text("In the queue")
    shoot(page, "3-in-the-queue")

    reservations_drain(sale_id=sale.pk)  # what the Celery worker does; here at a moment of our choosing
    expect(status).to_have_text(re.compile(r"^Order created: pay within 15 minutes"), timeout=10_000)
    shoot(page, "4-order-created")

    order = Order.objects.using("default").get(sale=sale)
    page.locator("#status-actions").get_by_role("button", name="Pay 199.00").click()
    expect(status).to_have_text(f"Paid: order {order.number} is confirmed. Thank you!")
    assert Order.objects.using("default").get(pk=order.pk).status == "paid"
    shoot(page, "5-paid")

    page.get_by_role("link", name="My orders").click()
    expect(page.locator(f"#order-{order.number}")).to_contain_text("Paid")
    shoot(page, "6-my-orders")


def test_a_sold_out_sale_says_sold_out(open_page, shoot):
    sale = live_sale(quantity=1, limit=1)
    shopper, rival = UserFactory(), UserFactory()
    page = open_page(f"/sales/{sale.pk}/", user=shopper)
    expect(page.locator("#remaining")).to_have_text("1")
    expect(page.locator("#buy-button")).to_be_enabled()
    assert api_buy(rival, sale.pk).status_code == 202  # someone else takes the last unit meanwhile

    buy_on_page(page)
    expect(page.locator("#status-text")).to_contain_text("Sold out")
    expect(page.locator("#buy-button")).to_have_text("Sold out")
    expect(page.locator("#buy-button")).to_be_disabled()
    expect(page.locator("#remaining")).to_have_text("0")
    shoot(page, "sold-out")

    forget_cached_page(sale.pk)  # a visitor after the page cache turned over
    later = open_page(f"/sales/{sale.pk}/", user=UserFactory())
    expect(later.locator("#buy-button")).to_have_text("Sold out")
    expect(later.locator("#buy-button")).to_be_disabled()
    expect(later.locator("#buy-note")).to_contain_text("Every unit has been taken.")
    assert bought(sale.pk, shopper) == 0


def test_a_second_purchase_over_the_limit_says_limit_reached(open_page, shoot):
    sale = live_sale(quantity=10, limit=1)
    shopper = UserFactory()
    page = open_page(f"/sales/{sale.pk}/", user=shopper)
    buy_on_page(page)
    expect(page.locator("#status-text")).to_contain_text("In the queue")
    expect(page.locator("#buy-button")).to_have_text("Bought")  # the page knows it used the limit

    page.reload()  # a fresh page does not know: the server says so
    buy_on_page(page)
    expect(page.locator("#status-text")).to_contain_text("Limit reached")
    expect(page.locator("#buy-button")).to_be_disabled()
    shoot(page, "limit-reached")
    assert bought(sale.pk, shopper) == 1
    assert stream_len(sale.pk) == 1


def test_a_double_click_sends_exactly_one_purchase(open_page):
    sale = live_sale(quantity=10, limit=5)  # a second purchase would be allowed: only the page prevents it
    shopper = UserFactory()
    page = open_page(f"/sales/{sale.pk}/", user=shopper)
    posts = []
    page.on("request", lambda r: posts.append(r.url.rsplit("/", 1)[-1]) if r.method == "POST" else None)
    expect(page.locator("#buy-button")).to_be_enabled()
    page.get_by_label(CAPTCHA_LABEL).fill("passed")

    page.locator("#buy-button").dblclick()
    expect(page.locator("#status-text")).to_contain_text("In the queue")
    page.wait_for_timeout(500)  # room for a late second request, were there one
    assert posts.count("purchase") == 1, posts
    assert posts.count("token") == 1, posts
    assert stream_len(sale.pk) == 1
    assert redis_stock(sale.pk) == 9
    assert bought(sale.pk, shopper) == 1
    reservations_drain(sale_id=sale.pk)
    assert Order.objects.using("default").filter(sale=sale).count() == 1


def test_on_a_phone_the_page_fits_and_buying_works_by_keyboard(open_page, shoot):
    sale = live_sale(quantity=3, limit=2, title="A rather long sale title that has to wrap on a small phone screen")
    page = open_page(f"/sales/{sale.pk}/", user=UserFactory(), viewport=PHONE)
    button = page.locator("#buy-button")
    expect(button).to_be_enabled()
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), "horizontal scrolling"
    box = button.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport()
    shoot(page, "phone-live", full_page=True)

    # Keyboard only: Tab to the captcha field (the focus is visible), type, choose, press Enter.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "captcha-answer":
            break
    else:
        pytest.fail("the captcha field cannot be reached with Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("passed")
    page.get_by_label("Quantity").select_option("2")
    page.get_by_label(CAPTCHA_LABEL).press("Enter")
    expect(page.locator("#status-text")).to_contain_text("In the queue")
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    shoot(page, "phone-in-the-queue", full_page=True)
    assert redis_stock(sale.pk) == 1


def test_refusals_are_plain_and_too_many_requests_counts_down(open_page, shoot):
    sale = live_sale(quantity=10)
    page = open_page(f"/sales/{sale.pk}/", user=UserFactory())
    answers = iter(
        [
            (429, {"code": "rate_limited", "message": "Too many requests; slow down."}, {"Retry-After": "2"}),
            (
                503,
                {"code": "sale_unavailable", "message": "The sale is temporarily unavailable."},
                {"Retry-After": "1"},
            ),
            (409, {"code": "not_live", "message": "This sale is not open for purchases right now."}, {}),
        ]
    )
    keys = []

    def refuse(route):
        keys.append(route.request.headers.get("idempotency-key"))
        status, body, headers = next(answers)
        route.fulfill(status=status, json=body, headers=headers)

    page.route("**/purchase", refuse)
    button, status = page.locator("#buy-button"), page.locator("#status-text")
    buy_on_page(page)
    expect(status).to_contain_text("Too many requests")
    expect(button).to_be_disabled()
    expect(button).to_have_text(re.compile(r"^Wait [12] s$"))
    shoot(page, "rate-limited")
    expect(button).to_have_text("Try again", timeout=4000)  # Retry-After honoured, then open again
    button.click()
    expect(status).to_contain_text("Sale unavailable")
    expect(button).to_have_text("Try again", timeout=3000)
    button.click()
    expect(status).to_contain_text("Not live yet")
    # Each retry re-sent the same purchase (same token and Idempotency-Key): it cannot buy twice.
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert keys[0]
    assert redis_stock(sale.pk) == 10


def test_an_order_can_be_paid_from_my_orders(open_page, shoot):
    sale = live_sale(quantity=5, title="Pay-later sale")
    shopper = UserFactory()
    assert api_buy(shopper, sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(sale=sale)
    page = open_page("/orders/", user=shopper)
    card = page.locator(f"#order-{order.number}")
    expect(card).to_contain_text("Pending payment")
    card.get_by_role("button", name="Pay 199.00").click()
    expect(page.locator("#status-text")).to_have_text(f"Paid: order {order.number} is confirmed. Thank you!")
    expect(card).to_contain_text("Paid")
    expect(card.get_by_role("button")).to_have_count(0)
    shoot(page, "my-orders-paid")


def test_an_unpaid_order_can_be_cancelled_from_my_orders_after_confirming(open_page, shoot):
    sale = live_sale(quantity=5, title="Change-of-mind sale")
    shopper = UserFactory()
    assert api_buy(shopper, sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(sale=sale)
    page = open_page("/orders/", user=shopper)
    card = page.locator(f"#order-{order.number}")
    page.once("dialog", lambda dialog: dialog.dismiss())  # "no": nothing happens
    card.get_by_role("button", name="Cancel order").click()
    expect(card).to_contain_text("Pending payment")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#status-text")).to_have_text(f"Order {order.number} is cancelled. Nothing was charged.")
    expect(card.get_by_role("button")).to_have_count(0)
    assert Order.objects.using("default").get(pk=order.pk).status == "cancelled"
    shoot(page, "my-orders-cancelled")
