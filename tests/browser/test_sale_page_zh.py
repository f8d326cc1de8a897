"""The shopper's journey in Traditional Chinese on a phone: the shop's first language."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order
from orders.services import reservations_drain
from tests.browser.support import PHONE, SKEWED_DEVICE_CLOCK, open_sale_in
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db

pytestmark = real_db


def fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")


def test_a_taiwanese_shopper_logs_in_waits_buys_and_pays_in_traditional_chinese(open_page, shoot, stack):
    sale = live_sale(
        quantity=5, limit=1, title="新機首賣", price="9999", starts_at=timezone.now() + timedelta(minutes=2)
    )
    UserFactory(username="taipei")
    # A phone set to New York's time: the page still speaks of Taipei's.
    page = open_page(
        f"/sales/{sale.pk}/", viewport=PHONE, locale="zh-TW", zone="America/New_York", init_script=SKEWED_DEVICE_CLOCK
    )
    assert page.locator("html").get_attribute("lang") == "zh-hant"
    expect(page.locator("#price")).to_have_text("NT$9,999")
    expect(page.locator("#phase-badge")).to_have_text("即將開始")
    page.get_by_role("link", name="登入後購買").click()
    page.get_by_label("使用者名稱").fill("taipei")
    page.get_by_label("密碼").fill("pw")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(f"**/sales/{sale.pk}/")

    open_sale_in(sale, 4, stack)
    page.reload()
    expect(page.locator("#clock-label")).to_have_text("距離開始")  # the countdown, on the server's clock
    expect(page.locator("#clock-value")).to_have_text(re.compile(r"^00:00:0[1-4]$"))
    expect(page.locator("#buy-button")).to_have_text("尚未開放")
    assert fits(page), "horizontal scrolling on the countdown"
    shoot(page, "zh-hant-1-countdown", full_page=True)

    expect(page.locator("#buy-button")).to_be_enabled(timeout=10_000)
    assert time.time() >= sale.starts_at.timestamp() - 0.5, "the button opened before the sale did"
    expect(page.locator("#buy-button")).to_have_text("立即購買")
    page.get_by_label("請輸入圖中的字元").fill("passed")
    assert fits(page), "horizontal scrolling with the captcha"
    shoot(page, "zh-hant-2-live-captcha", full_page=True)

    page.locator("#buy-button").click()
    status = page.locator("#status-text")
    expect(status).to_contain_text("排隊中")
    reservations_drain(sale_id=sale.pk)
    expect(status).to_have_text(re.compile(r"^訂單已建立：請在 15 分鐘內（.+ 前）付款。"), timeout=10_000)
    shoot(page, "zh-hant-3-order-created", full_page=True)
    order = Order.objects.using("default").get(sale=sale)
    pay_by = order.expires_at.astimezone(ZoneInfo("Asia/Taipei"))
    expect(status).to_contain_text(
        f"{pay_by.month}月{pay_by.day}日 {pay_by:%H:%M} 前"
    )  # the shop's zone, not the phone's

    page.locator("#status-actions").get_by_role("button", name="付款 NT$9,999").click()
    expect(status).to_have_text(f"付款完成：訂單 {order.number} 已確認。謝謝您！")
    assert Order.objects.using("default").get(pk=order.pk).status == "paid"

    page.get_by_role("link", name="我的訂單").click()
    card = page.locator(f"#order-{order.number}")
    expect(card).to_contain_text("已付款")
    expect(card).to_contain_text("NT$9,999")
    assert fits(page), "horizontal scrolling on my orders"
    shoot(page, "zh-hant-4-my-orders", full_page=True)
