"""The sale page in front of a line: a shopper lines up, waits, gets a turn, buys or runs out of time."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from config.redis import get_redis
from inventory.redis_schema import sale_keys
from orders.models import Order
from orders.services import reservations_drain
from tests.browser.support import (
    PHONE,
    admitted_through_api,
    api_buy,
    bought,
    buy_on_page,
    end_turn,
    hold_the_line,
    open_sale_in,
    queue_sale,
)
from tests.factories import UserFactory, live_sale
from tests.helpers import client_for, real_db

pytestmark = real_db
YOUR_TURN = re.compile(r"^It's your turn: buy within [0-2]:\d\d$")


def test_a_shopper_in_the_prequeue_gets_a_turn_at_the_start_and_buys(open_page, shoot, stack):
    sale = queue_sale(quantity=5, admission=120, starts_at=timezone.now() + timedelta(minutes=5))
    shopper = UserFactory()
    open_sale_in(sale, 6, stack)  # the line is open (it opens 10 minutes before the start)
    page = open_page(f"/sales/{sale.pk}/", user=shopper)
    title, detail = page.locator("#queue-title"), page.locator("#queue-detail")
    expect(title).to_have_text("You're in the line")
    expect(detail).to_contain_text("The line is shuffled when the sale opens")
    announce = page.locator("#queue-announce")
    expect(announce).to_have_text("You're in the line. The line is shuffled when the sale opens.")
    expect(page.locator("#clock-label")).to_have_text("Starts in")
    expect(page.locator("#buy-button")).to_have_text("Not open yet")
    assert get_redis().zscore(sale_keys(sale.pk).queue_prequeue, str(shopper.pk)) is not None
    shoot(page, "queue-1-prequeue")

    expect(title).to_have_text(YOUR_TURN, timeout=12_000)  # the start, then the page's next poll
    announced = re.compile(r"^It's your turn: you have (2 minutes|1 minute \d+ seconds?) to buy\.$")
    expect(announce).to_have_text(announced)
    expect(page).to_have_title(re.compile(r"^Your turn · "))
    expect(page.locator("#captcha")).to_be_visible()
    shoot(page, "queue-2-your-turn")

    buy_on_page(page)
    expect(page.locator("#status-text")).to_contain_text("In the queue")
    expect(page.locator("#queue")).to_be_hidden()  # bought the limit: the line has nothing more to say
    shoot(page, "queue-3-bought")
    assert bought(sale.pk, shopper) == 1


def test_before_the_line_opens_the_page_says_when_it_opens(open_page, shoot):
    starts = timezone.now() + timedelta(hours=1)
    sale = queue_sale(starts_at=starts, ends_at=starts + timedelta(hours=1), prequeue_seconds=60)
    page = open_page(f"/sales/{sale.pk}/", user=UserFactory())
    expect(page.locator("#queue-title")).to_have_text(re.compile(r"^The line opens at "))
    expect(page.locator("#queue-detail")).to_contain_text("The line is shuffled when the sale opens")
    expect(page.locator("#queue-announce")).to_contain_text("This page lines you up by itself.")
    shoot(page, "queue-0-not-open")


def test_a_turn_that_runs_out_offers_to_line_up_again_by_keyboard(open_page, shoot):
    sale = queue_sale(admission=10)
    shopper = UserFactory()
    page = open_page(f"/sales/{sale.pk}/", user=shopper)
    title = page.locator("#queue-title")
    expect(title).to_have_text(YOUR_TURN)
    hold_the_line(sale.pk)  # a new place stays waiting, so the page can be seen waiting
    end_turn(sale.pk, shopper)

    expect(title).to_have_text("Your turn ran out")
    expect(page.locator("#queue-announce")).to_have_text("Your turn ran out. Press Line up again to take a new place.")
    expect(page.locator("#buy-button")).to_be_disabled()
    rejoin = page.get_by_role("button", name="Line up again")
    expect(rejoin).to_be_focused()  # the buy controls went away: the keyboard lands on what to do next
    shoot(page, "queue-4-turn-ran-out")

    page.keyboard.press("Enter")
    expect(title).to_have_text(re.compile(r"^You're next"))
    expect(rejoin).to_be_hidden()
    expect(page.locator("#buy-button")).to_have_text("Wait for your turn")
    shoot(page, "queue-5-lined-up-again")


def test_a_shopper_waiting_when_the_last_unit_is_paid_sees_sold_out(open_page, shoot):
    sale = queue_sale(quantity=1, rate=1, admission=60)
    buyer, ahead, shopper = UserFactory(), UserFactory(), UserFactory()
    admitted_through_api(buyer, sale.pk)
    hold_the_line(sale.pk)
    client_for(ahead).post(f"/api/sales/{sale.pk}/queue")
    page = open_page(f"/sales/{sale.pk}/", user=shopper, viewport=PHONE)
    title = page.locator("#queue-title")
    expect(title).to_have_text(re.compile(r"^1 ahead of you"))
    expect(page.locator("#buy-button")).to_have_text("Wait for your turn")
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), "horizontal scrolling"
    shoot(page, "queue-6-waiting-phone", full_page=True)

    assert api_buy(buyer, sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    expect(page.locator("#queue-detail")).to_contain_text("Every unit is taken for now")  # held: it may come back
    order = Order.objects.using("default").get(sale=sale)
    assert client_for(buyer).post(f"/api/orders/{order.number}/pay").status_code == 200

    expect(title).to_have_text("Sold out")
    expect(page.locator("#queue-announce")).to_have_text("Sold out: every unit has been sold.")
    expect(page.locator("#buy-button")).to_have_text("Sold out")
    expect(page.locator("#buy-button")).to_be_disabled()
    shoot(page, "queue-7-sold-out-phone", full_page=True)


def test_a_sale_without_a_line_shows_none_and_never_lines_up(open_page):
    sale = live_sale(quantity=3)
    page = open_page(f"/sales/{sale.pk}/", user=UserFactory())
    calls = []
    page.on("request", lambda r: calls.append(r.url) if r.url.endswith("/queue") else None)
    expect(page.locator("#buy-button")).to_be_enabled()
    page.reload()
    expect(page.locator("#buy-button")).to_be_enabled()
    expect(page.locator("#queue")).to_be_hidden()
    assert calls == []


def test_a_visitor_who_is_not_logged_in_is_told_to_log_in_to_line_up(open_page, shoot):
    sale = queue_sale()
    calls = []
    page = open_page(f"/sales/{sale.pk}/")
    page.on("request", lambda r: calls.append(r.url) if r.url.endswith("/queue") else None)
    expect(page.get_by_text("This sale has a line: log in to take your place in it.")).to_be_visible()
    expect(page.locator("#queue")).to_be_hidden()
    shoot(page, "queue-anonymous")
    assert calls == []
