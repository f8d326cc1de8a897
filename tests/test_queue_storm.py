"""A storm through the waiting room over real HTTP: gunicorn, Redis, a Celery worker, MariaDB.

5,000 shoppers join before the start of a 500-unit sale; at the start the pre-queue is shuffled
and admitted at the sale's rate; every shopper polls when ``poll_after_ms`` says, and buys (token,
then purchase) once admitted (tests/support/queue_storm.py plays them with a bounded pool of threads).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from flashsale.models import FlashSale
from orders.models import Order
from tests.factories import users
from tests.helpers import assert_invariants, real_db, stream_len
from tests.support.processes import start_gunicorn, start_worker
from tests.support.queue import queue_sale, start_now, wait_for
from tests.support.queue_storm import Shopper, Storm

pytestmark = [real_db, pytest.mark.slow]

SHOPPERS, STOCK = 5000, 500
ADMIT_PER_SECOND = 100  # five seconds of admissions for the stock: the order checks span many batches
ADMISSION_SECONDS = 10  # the model's least
THREADS = 64
STORM_SECONDS = 45  # the whole sale must be over by then
LOAD_ENV = {
    "ALLOW_LOAD_TEST_SWITCHES": "true",  # DEBUG is off: the two switches below need it
    "FLASHSALE_CAPTCHA_REQUIRED": "false",
    "RATELIMIT_ENABLE": "false",
    "REDIS_SOCKET_TIMEOUT_MS": "5000",
    # All waiting shoppers together poll this often a second (the near front every second on top):
    # what two cores serve beside the shoppers' own threads.
    "FLASHSALE_QUEUE_POLL_BUDGET": "500",
    # Units stay held (the line open, shoppers waiting) until paid or past the payment deadline:
    # a short one closes the line soon after the sell-out, so every shopper hears "closed".
    "ORDER_PAYMENT_TIMEOUT": "3",
}


@pytest.fixture
def running_app(tmp_path):
    web, base = start_gunicorn(tmp_path, workers=2, threads=16, env=LOAD_ENV)
    worker = start_worker(tmp_path, concurrency=2, env=LOAD_ENV)
    yield base
    web.stop()
    worker.stop()


def _shoppers(n: int) -> list[Shopper]:
    people = users(n, prefix="line")
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in people])
    keys = Token.objects.using("default").filter(user__in=people).values_list("key", "user_id")
    return [Shopper(key, user_id) for key, user_id in keys]


def _join_all(base: str, sale_id: int, shoppers: list[Shopper], storm: Storm) -> dict[int, int]:
    """Everyone joins before the start; returns when each is to poll first."""

    def join(index: int) -> tuple[int, int]:
        joined = storm.call("join", "POST", f"/api/sales/{sale_id}/queue", headers=shoppers[index].auth)
        assert joined.status_code == 200, joined.content
        shoppers[index].ticket = joined.json()["ticket"]
        assert joined.json()["state"] == "prequeue"
        return index, joined.json()["poll_after_ms"]

    with ThreadPoolExecutor(THREADS) as pool:
        return dict(pool.map(join, range(len(shoppers))))


def _overtaken(shoppers: list[Shopper]) -> int:
    """Earlier places that got no unit although they saw their turn, and so asked first, more than
    the run's slowest token-and-purchase before a later place saw its own. With a server that
    serves purchases as they come, there are none; shoppers who saw their turn within that race
    window of each other may win in either order, and ones who saw it later may lose."""
    tried = [s for s in shoppers if s.token_at is not None and s.answered_at is not None]
    race = max(s.answered_at - s.token_at for s in tried)
    overtaken, losers = 0, []
    for shopper in sorted((s for s in tried if s.position is not None), key=lambda s: s.position):
        if shopper.outcome == "bought":
            overtaken += sum(1 for a in losers if a.admitted_at + race < shopper.admitted_at)
        else:
            losers.append(shopper)
    return overtaken


def _jumped(shoppers: list[Shopper]) -> int:
    """The most earlier places that got no unit, behind any one buyer: how far the units went out
    of place order (0 if the buyers are exactly the first places)."""
    unserved, worst = 0, 0
    for shopper in sorted((s for s in shoppers if s.position is not None), key=lambda s: s.position):
        if shopper.outcome == "bought":
            worst = max(worst, unserved)
        else:
            unserved += 1
    return worst


def _out_of_place_order(shoppers: list[Shopper], admitted_ms: dict[int, float]) -> int:
    """Admissions that broke place order: a place skipped below an admitted one, or admitted
    before an earlier place (Redis's times, so exact)."""
    placed = sorted((s for s in shoppers if s.position is not None), key=lambda s: s.position)
    admitted = [s for s in placed if s.user_id in admitted_ms]
    skipped = sum(1 for s in placed[: len(admitted)] if s.user_id not in admitted_ms)
    times = [admitted_ms[s.user_id] for s in admitted]
    return skipped + sum(1 for before, after in zip(times, times[1:]) if after < before)


def _ms(sorted_seconds: list[float], q: float) -> str:
    return (
        f"{sorted_seconds[min(len(sorted_seconds) - 1, int(len(sorted_seconds) * q))] * 1000:.0f}"
        if sorted_seconds
        else "-"
    )


def _wait_drained(sale, expected_orders: int, timeout: float = 60) -> None:
    def drained():
        return not stream_len(sale.pk) and Order.objects.using("default").filter(sale=sale).count() >= expected_orders

    wait_for(drained, timeout=timeout, what="the persister to drain the stream")


def _refused_within_their_turn(shoppers, admitted_ms: dict, turn_over: tuple) -> list[int]:
    """Shoppers told their turn was over (lapsed, not admitted, a token gone) before it was: their
    answer arrived earlier than their admission time plus the turn's length (less the log's step)."""
    return [
        s.user_id
        for s in shoppers
        if s.outcome in turn_over
        and (
            s.user_id not in admitted_ms
            or s.answered_at * 1000 < admitted_ms[s.user_id] + ADMISSION_SECONDS * 1000 - 100
        )
    ]


def test_5000_shoppers_in_the_line_buy_exactly_500_in_place_order_with_no_5xx(running_app, stack):
    sale = queue_sale(starts_in=300, quantity=STOCK, rate=ADMIT_PER_SECOND, admission=ADMISSION_SECONDS)
    shoppers = _shoppers(SHOPPERS)
    stack.mariadb.wait_for_replica()  # API tokens are looked up on the replica
    storm = Storm(running_app, sale.pk, shoppers, threads=THREADS, admission_seconds=ADMISSION_SECONDS)

    t0 = time.monotonic()
    first_poll = _join_all(running_app, sale.pk, shoppers, storm)
    joined_s = time.monotonic() - t0
    early = random.Random(13).sample(range(SHOPPERS), 50)  # nobody in the pre-queue gets a token
    refused = Counter(
        storm.call("token", "POST", f"/api/sales/{sale.pk}/token", json={}, headers=shoppers[i].auth).json()["code"]
        for i in early
    )

    FlashSale.objects.filter(pk=sale.pk).update(starts_at=timezone.now())
    start_now(sale.pk)  # the sale opens now: the next advance shuffles the pre-queue
    started = time.time()
    storm.run(first_poll, STORM_SECONDS)
    log = storm.log
    storm_s = time.time() - started

    buyers = [s for s in shoppers if s.outcome == "bought"]
    outcomes = Counter(s.outcome or "still polling" for s in shoppers)
    server_errors = sum(n for kind, n in storm.statuses.items() if kind.split(":")[1].startswith("5"))
    no_answer = sum(n for kind, n in storm.statuses.items() if kind.startswith("error:"))
    jumped, overtaken = _jumped(shoppers), _overtaken(shoppers)
    misordered = _out_of_place_order(shoppers, log.admitted_ms)
    token_before_admission = sum(1 for b in buyers if b.token_at * 1000 < log.admitted_ms.get(b.user_id, math.inf))
    seen_late = sorted(s.admitted_at - log.admitted_ms[s.user_id] / 1000 for s in shoppers if s.admitted_at)
    lat = sorted(storm.poll_latencies)
    print(
        f"\nFIGURE queue storm: {SHOPPERS} joined before the start in {joined_s:.1f}s ({SHOPPERS / joined_s:.0f}/s); "
        f"{len(log.admitted_ms)} admitted at {ADMIT_PER_SECOND}/s, {len(buyers)} bought, the last "
        f"{max(b.bought_at for b in buyers) - started:.1f}s after the start; everyone answered within {storm_s:.1f}s; "
        f"{len(lat)} polls ({len(lat) / storm_s:.0f}/s), p50 {_ms(lat, 0.5)} ms, p99 {_ms(lat, 0.99)} ms; "
        f"admission seen p50 {_ms(seen_late, 0.5)} ms, p99 {_ms(seen_late, 0.99)} ms after it; most earlier places "
        f"without a unit behind one buyer {jumped} (overtaken after acting first: {overtaken}); "
        f"outcomes {dict(outcomes)}; "
        f"answers {dict(storm.statuses)}; 5xx {server_errors}"
    )
    assert refused == Counter({"not_admitted": len(early)})
    assert len(buyers) == STOCK, outcomes
    _wait_drained(sale, len(buyers))
    assert assert_invariants(sale, accepted_units=len(buyers))["orders"] == STOCK
    assert misordered == 0
    assert token_before_admission == 0
    assert overtaken == 0
    # Everyone else heard the line close, or, admitted, let their turn run out first (a turn is
    # ADMISSION_SECONDS: a shopper slower than that is told so, and never before their turn ended).
    turn_over = ("lapsed", "not_admitted", "bad_token")
    assert outcomes["sold_out"] + sum(outcomes[o] for o in turn_over) == SHOPPERS - STOCK, outcomes
    assert _refused_within_their_turn(shoppers, log.admitted_ms, turn_over) == [], outcomes
    assert server_errors == 0, storm.statuses
    assert no_answer == 0, storm.statuses
