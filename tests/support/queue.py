"""Sales with a waiting room, and a probe, for the tests of the line."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from config.redis import get_redis
from flashsale import queue
from inventory.models import Stock
from inventory.redis_schema import sale_keys
from reconciliation.preheat import sale_preheat
from tests.factories import SaleFactory


def queue_sale(*, starts_in: float = -1, quantity: int = 100, rate: int = 50, admission: int = 120, limit: int = 1):
    """A preheated sale with its waiting room on, starting ``starts_in`` seconds from now."""
    sale = SaleFactory(
        quantity=quantity,
        per_user_limit=limit,
        queue_enabled=True,
        admit_per_second=rate,
        admission_seconds=admission,
        prequeue_seconds=600,
        starts_at=timezone.now() + timedelta(seconds=starts_in),
    )
    Stock.objects.filter(sku=sale.sku).update(total=quantity)
    sale_preheat(sale_id=sale.pk)
    return sale


def start_now(sale_id: int) -> None:
    """The sale opens now, as far as its Redis projection knows (the scripts read Redis's clock)."""
    get_redis().hset(sale_keys(sale_id).meta, "starts", int(time.time() * 1000) - 1)


def wait_for(predicate, timeout: float = 5.0, what: str = "the condition"):
    """Probe ``predicate`` until it answers something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)  # a probe's pause: the line moves on Redis's clock, not ours
    return found


def line_with_one_lapse(sale_id: int) -> None:
    """Places 1-4; 1 admitted, lapsed without buying, so 2 was admitted in its stead; 3 and 4 wait.
    The line is frozen at that (rate 0: only lapses move it), so the numbers stay put while read."""
    keys, r = sale_keys(sale_id), get_redis()
    for user in (1, 2, 3, 4):
        queue.queue_join(sale_id=sale_id, user_id=user)
    # Exactly one admission owed, then none; tick 0: the next advance runs now (not 200 ms after the last).
    r.hset(keys.queue, mapping={"rate": 0, "carry": 1000, "tick": 0})
    queue.queue_advance(sale_id=sale_id)
    r.zadd(keys.queue_admitted, {1: 0})  # user 1's admission ran out
    r.hset(keys.queue, "tick", 0)
    queue.queue_advance(sale_id=sale_id)
    now_ms = int(r.time()[0]) * 1000
    # The longest wait is the first waiting place's (user 3), even if someone behind joined earlier.
    r.hset(keys.queue_joined, mapping={3: now_ms - 90_000, 4: now_ms - 500_000})
