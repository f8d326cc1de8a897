"""Row 6: the replica applies every event 5 s late (MASTER_DELAY=5) while shoppers buy and look.

Shoppers go through gunicorn like browsers/apps do: the session that bought (with whatever cookies the
app set) and a fresh one (the shopper's other device).
The share of reads served by the replica is counted on the servers (Com_select on each).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.factories import live_sale
from tests.faults.kit import accepted_rids, figure, kicker, make_shoppers, purchase, wait_persisted, wait_until
from tests.helpers import assert_invariants, real_db
from tests.support.stack import DB_NAME

pytestmark = [real_db, pytest.mark.faults, pytest.mark.slow]
LAG_SECONDS = 5
WATCH_SECONDS = 7  # each shopper keeps looking this long after their order appears: past the lag


def _selects(stack) -> tuple[int, int]:
    def one(server) -> int:
        return int(server.query("SHOW GLOBAL STATUS LIKE 'Com_select'")[0]["Value"])

    return one(stack.mariadb.primary), one(stack.mariadb.replica)


class Reads:
    """Counts the replica's share of SELECTs over a block (nothing else may query during it)."""

    def __init__(self, stack):
        self.stack = stack

    def __enter__(self):
        self.before = _selects(self.stack)
        return self

    def __exit__(self, *exc):
        after = _selects(self.stack)
        self.primary, self.replica = after[0] - self.before[0], after[1] - self.before[1]

    @property
    def share(self) -> str:
        total = self.primary + self.replica
        return f"{self.replica}/{total} = {100 * self.replica / total:.0f}%" if total else "no reads"


READS = Counter()


def _look(base: str, session: requests.Session, sale_id: int, rid: str, number: str) -> list[str]:
    """A shopper's reads after their order exists (three of their own order, one of the sale).

    Returns what was stale."""
    READS["own"] += 3
    stale = []
    listed = session.get(f"{base}/api/orders/", timeout=10)
    if listed.status_code != 200 or number not in [o["number"] for o in listed.json()["results"]]:
        stale.append(f"/api/orders/ {listed.status_code}")
    detail = session.get(f"{base}/api/orders/{number}/", timeout=10)
    if detail.status_code != 200 or detail.json()["reservation_id"] != rid:
        stale.append(f"/api/orders/{number}/ {detail.status_code}")
    status = session.get(f"{base}/api/reservations/{rid}", timeout=10)
    if status.status_code != 200 or status.json()["order_number"] != number:
        stale.append(f"/api/reservations/ {status.status_code}")
    if session.get(f"{base}/api/sales/{sale_id}/", timeout=10).status_code != 200:
        stale.append("/api/sales/{id}/")
    return stale


def test_with_the_replica_5s_behind_no_shopper_misses_their_own_new_order(tmp_path, app, stack):
    READS.clear()
    sale = live_sale(quantity=100, limit=1)
    shoppers = make_shoppers(20, "r")
    base = app.web()
    app.worker()
    stack.mariadb.wait_for_replica()
    stack.mariadb.set_replica_delay(LAG_SECONDS)
    try:
        sessions = [s.session() for s in shoppers]
        for shopper, session in zip(shoppers, sessions):
            shopper.outcomes.append(purchase(base, sale.pk, shopper, session))
        rids = accepted_rids(shoppers)
        assert len(rids) == 20
        order_ids: dict[str, str] = {}
        kick = kicker()  # what beat's sweep does every second (beat's own DB reads would blur the counts)

        def all_created() -> bool:
            kick(sale.pk)
            return all(_created(base, sessions[i], rid, order_ids) for i, rid in enumerate(rids))

        wait_until(all_created, 20, "every order to be created", interval=0.5)
        created_at = time.monotonic()

        # 1. Right after the orders appear: the replica does not have them yet.
        lagging = stack.mariadb.replica.query(f"SELECT COUNT(*) AS n FROM `{DB_NAME}`.orders_order")[0]["n"]
        with Reads(stack) as fresh_reads:
            stale = [x for i, rid in enumerate(rids) for x in _look(base, sessions[i], sale.pk, rid, order_ids[rid])]
            stale += [
                x
                for i, rid in enumerate(rids)
                for x in _look(base, shoppers[i].session(), sale.pk, rid, order_ids[rid])
            ]
        # 2. Keep looking, from the buying session and from fresh ones, until past the lag.

        errors = []

        def watch(i: int, rid: str) -> None:
            try:
                while time.monotonic() - created_at < WATCH_SECONDS:
                    for session in (sessions[i], shoppers[i].session()):
                        stale.extend(_look(base, session, sale.pk, rid, order_ids[rid]))
                    time.sleep(0.25)
            except Exception as exc:  # a read that got no answer fails the test below
                errors.append(repr(exc))

        threads = [threading.Thread(target=watch, args=(i, rid)) for i, rid in enumerate(rids)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        # 3. The replica has caught up: the same reads now go to it.
        stack.mariadb.wait_for_replica(timeout=LAG_SECONDS + 10)
        with Reads(stack) as caught_up_reads:
            stale += [
                x
                for i, rid in enumerate(rids)
                for x in _look(base, shoppers[i].session(), sale.pk, rid, order_ids[rid])
            ]
    finally:
        stack.mariadb.set_replica_delay(0)
        stack.mariadb.wait_for_replica(timeout=30)
    assert lagging == 0, "the replica was not behind: the test proved nothing"
    assert not errors, errors
    assert not stale, Counter(stale)
    wait_persisted(sale, 20)
    assert_invariants(sale, accepted_units=20)
    figure(
        6,
        f"replica {LAG_SECONDS} s behind: stale reads 0 of {READS['own']} own-order reads "
        f"(the buying session and fresh ones, up to {WATCH_SECONDS} s after the order); "
        f"replica share of SELECTs right after the orders {fresh_reads.share}, once caught up {caught_up_reads.share}",
    )


def _created(base: str, session: requests.Session, rid: str, order_ids: dict) -> bool:
    if rid in order_ids:
        return True
    body = session.get(f"{base}/api/reservations/{rid}", timeout=10).json()
    if body["status"] == "created":
        order_ids[rid] = body["order_number"]
        return True
    return False
