"""The waiting room in the operator's console: its numbers, its chart, holding admission (admin, test client)."""

from __future__ import annotations

import re

from django.contrib.auth.models import Permission
from django.urls import reverse

from config.redis import get_redis
from flashsale import queue
from flashsale.queue_chart import queue_chart
from flashsale.queue_selectors import QueueSample, queue_reading, queue_samples
from inventory.redis_schema import sale_keys
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db
from tests.support.queue import line_with_one_lapse, queue_sale, wait_for

pytestmark = real_db
CHANGELIST = "admin:flashsale_flashsale_changelist"


def _staff(client, *perms: str):
    user = UserFactory(username=f"line-ops-{'-'.join(p.split('.')[-1] for p in perms) or 'none'}", is_staff=True)
    codenames = ["view_flashsale", "change_flashsale", *[p.split(".")[1] for p in perms]]
    user.user_permissions.add(*Permission.objects.using("default").filter(codename__in=codenames))
    client.force_login(user)


def _action(client, action: str, sale_id: int):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [str(sale_id)]}, follow=True)


def _console(client, sale_id: int) -> str:
    return client.get(reverse("admin:flashsale_flashsale_change", args=[sale_id])).content.decode()


def _field(page: str, name: str) -> str:
    found = re.search(rf'id="console-queue-{name}">(.*?)</div>', page, re.S)
    assert found, f"no console-queue-{name} on the page"
    return found.group(1)


def _samples(sale_id: int, samples: list[QueueSample]) -> None:
    """Replace the line's samples, written as lib/queue.lua writes them (newest first)."""
    key, r = sale_keys(sale_id).queue_series, get_redis()
    r.delete(key)
    r.lpush(key, *[f"{s.at_ms} {s.stock} {s.waiting} {s.admitted_total}" for s in samples])


def _two_minutes_of_selling(start_ms: int) -> list[QueueSample]:
    """121 one-second samples: 10 admitted a second, the queue shrinking by 10 and the stock by 4 a second."""
    return [QueueSample(start_ms + i * 1000, 500 - 4 * i, 5000 - 10 * i, 10 * i) for i in range(121)]


def test_the_console_shows_waiting_admitted_now_admitted_in_all_and_lapsed(client):
    _staff(client)
    sale = queue_sale(rate=1, admission=10)
    line_with_one_lapse(sale.pk)
    page = _console(client, sale.pk)
    assert "Live: the waiting room" in page
    assert _field(page, "waiting") == "2"
    assert _field(page, "admitted-now") == "1"
    assert _field(page, "admitted-total") == "2"
    assert _field(page, "lapsed").startswith("1 ")


def test_the_longest_wait_is_the_first_waiting_shoppers_time_since_joining(client):
    _staff(client)
    sale = queue_sale(rate=1, admission=10)
    line_with_one_lapse(sale.pk)
    shown = int(re.match(r"(\d+) s", _field(_console(client, sale.pk), "longest-wait")).group(1))
    assert 90 <= shown < 500  # user 3's wait, not user 4's (who joined earlier but stands behind)


def test_the_admission_rate_is_measured_over_the_last_samples(client):
    _staff(client)
    sale = queue_sale(rate=50)
    _samples(sale.pk, _two_minutes_of_selling(int(get_redis().time()[0]) * 1000 - 120_000))
    assert _field(_console(client, sale.pk), "rate").startswith("10.0 a second")


def test_the_chart_draws_stock_queue_length_and_admissions_with_a_title_and_a_summary(client):
    _staff(client)
    sale = queue_sale(rate=50)
    _samples(sale.pk, _two_minutes_of_selling(int(get_redis().time()[0]) * 1000 - 120_000))
    page = _console(client, sale.pk)
    svg = re.search(r'<figure id="queue-chart".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg
    assert '<title id="queue-chart-title">Waiting room, last 2 min 0 s' in svg
    assert svg.count("<polyline") == 3
    assert "Stock left (peak 500)" in svg
    assert "Queue length (peak 5000)" in svg
    assert "Admissions a second (5 s average) (peak 10)" in svg
    summary = re.search(r'<figcaption id="queue-chart-summary">(.*?)</figcaption>', page, re.S).group(1)
    assert summary == (
        "Over the last 2 min 0 s: stock 500 → 20; queue length 5,000 → 3,800 (peak 5,000); "
        "1,200 admitted, 10.0 a second on average (peak 10 a second)."
    )


def test_the_chart_scales_each_line_to_its_own_peak():
    samples = _two_minutes_of_selling(0)
    chart = queue_chart(samples)
    stock, waiting, _rate = chart.panels
    first_y = float(stock.points.split()[0].split(",")[1])
    assert first_y == stock.top  # the stock starts at its peak: the panel's top edge
    assert float(waiting.points.split()[-1].split(",")[1]) > waiting.top  # the queue ends below its peak


def test_there_is_no_chart_before_two_samples():
    assert queue_chart([QueueSample(0, 10, 10, 0)]) is None


def test_the_line_records_a_sample_a_second_that_the_chart_draws():
    sale = queue_sale(rate=50)
    queue.queue_join(sale_id=sale.pk, user_id=1)

    def two_samples():
        queue.queue_advance(sale_id=sale.pk)  # what beat does every second
        return len(queue_samples(sale_id=sale.pk)) >= 2

    wait_for(two_samples, timeout=5, what="two samples")
    assert queue_chart(queue_samples(sale_id=sale.pk)) is not None


def test_holding_admission_admits_nobody_and_resuming_lets_the_line_move(client):
    _staff(client, "flashsale.pause_flashsale")
    sale = queue_sale(rate=50)
    held = _action(client, "hold_admission", sale.pk)
    assert b"admission held" in held.content
    for user in (1, 2, 3):
        queue.queue_join(sale_id=sale.pk, user_id=user)
    # Three admissions owed, and tick 0 so the next advance runs now: the hold must keep them back.
    get_redis().hset(sale_keys(sale.pk).queue, mapping={"carry": 3000, "tick": 0})
    queue.queue_advance(sale_id=sale.pk)
    assert queue_reading(sale_id=sale.pk).admitted_total == 0
    assert "held by an operator" in _field(_console(client, sale.pk), "state")
    assert queue.queue_place(sale_id=sale.pk, user_id=1).reason == "paused"
    _action(client, "resume_admission", sale.pk)

    def admitted():
        queue.queue_advance(sale_id=sale.pk)
        return queue_reading(sale_id=sale.pk).admitted_total > 0

    assert wait_for(admitted, what="an admission after the resume")


def test_staff_without_the_pause_permission_cannot_hold_admission(client):
    _staff(client)
    sale = queue_sale(rate=50)
    _action(client, "hold_admission", sale.pk)
    assert queue_reading(sale_id=sale.pk).paused is False
    assert b'value="hold_admission"' not in client.get(reverse(CHANGELIST)).content


def test_a_sale_without_a_waiting_room_has_no_queue_console_and_cannot_be_held(client):
    _staff(client, "flashsale.pause_flashsale")
    sale = live_sale(quantity=10)
    refused = _action(client, "hold_admission", sale.pk)
    assert b"no waiting room in Redis" in refused.content
    assert get_redis().hget(sale_keys(sale.pk).queue, "paused") is None
    assert "Live: the waiting room" not in _console(client, sale.pk)
