"""Read-your-writes for a shopper's orders when reads go to a lagging replica.

After a transaction that changes a user's orders commits on the primary, the primary's GTID of
that transaction is noted in Redis for the user. A later read of that user's orders asks the
replica whether it has applied that GTID (``MASTER_GTID_WAIT(gtid, 0)``, no waiting) and reads the
primary if not. Exact whatever the lag, and the replica still serves every read that is fresh.

The markers live in one hash per period of MARKER_TTL seconds (``rw:{users}:<period>``, field = user
id), kept for two periods. One hash tag for every period: the script reads two periods' hashes,
so on a Redis Cluster they share a slot. Why not a key per user: a persisted batch writes up to
thousands of users, and one call for all of them costs a fraction of a SET each (docs/performance.md).
A reader looks in the current period's hash, then the previous one: one round trip either way.
A marker only moves forward (``note_gtid.lua``): batches committed in one order may note in the other.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connections

from config.db_router import PRIMARY, REPLICA, is_pinned
from config.redis import get_redis
from orders.scripts import script

MARKER_TTL = 3600  # a marker is kept between one and two of these


def _period_key(period: int) -> str:
    # One hash tag for every period: the script reads two periods' hashes, so they share a slot.
    return f"rw:{{users}}:{period}"


def _period() -> int:
    return int(time.time()) // MARKER_TTL


def _tracking() -> bool:
    return settings.HAS_REPLICA and connections[PRIMARY].vendor == "mysql"


def note_user_writes(user_ids: Iterable[int]) -> None:
    """Call right after the commit, on the connection that committed."""
    user_ids = list(user_ids)
    if not user_ids or not _tracking():
        return
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT @@last_gtid")
        gtid = cursor.fetchone()[0]
    if not gtid:
        return
    period = _period()
    # One call for the batch; the script never replaces a user's newer marker with this older one.
    script("note_gtid")(keys=[_period_key(period), _period_key(period - 1)], args=[gtid, 2 * MARKER_TTL, *user_ids])


def alias_for_user_reads(user_id: int) -> str:
    """``replica`` if it already holds this user's last write, else ``default``."""
    if is_pinned():
        return PRIMARY
    if not _tracking():
        return REPLICA
    period = _period()
    pipe = get_redis().pipeline(transaction=False)
    for key in (_period_key(period), _period_key(period - 1)):  # the newest marker first
        pipe.hget(key, user_id)
    gtid = next((g for g in pipe.execute() if g), None)
    if not gtid:
        return REPLICA
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT MASTER_GTID_WAIT(%s, 0)", [gtid])
        caught_up = cursor.fetchone()[0] == 0
    return REPLICA if caught_up else PRIMARY
