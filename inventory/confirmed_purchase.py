"""A purchase that replicas confirm before it is answered (``REDIS_REPLICA_ACKS`` > 0).

The purchase script and ``WAIT`` go together to the sale's slot master (``config.replica_acks``).
Too few acknowledgements in time: the reservation is taken back by ``abandon.lua`` (units and the
buyer's count back at most once, status ``failed``/``not_replicated``) unless a persister already
read it, and the shopper is answered 503. While the master has fewer replicas in sync than the
setting asks, purchases are refused before the script runs. Durability over availability: the
operator can lower the setting (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from config.replica_acks import acks_required, replicas_short, script_then_wait, slot_master
from inventory.redis_schema import CONSUMER_GROUP, reservation_keys
from inventory.scripts import script

NO_REPLICAS = "NO_REPLICAS"  # refused before the script: the master has too few replicas in sync
NOT_REPLICATED = "NOT_REPLICATED"  # taken, then too few replicas confirmed it in time


def stock_take_confirmed(
    *, keys: Sequence[str], args: Sequence, user_id: int, idempotency_key: str | None, reservation_ttl_ms: int
) -> tuple[str, str, bool]:
    """purchase.lua then WAIT in one round trip: (code, detail, wake the persister?) as purchase_run."""
    name, master = slot_master(keys[0])
    if replicas_short(name, master):
        return NO_REPLICAS, "", False  # nothing ran: answered 503 without touching the stock
    # No automatic retry: a re-sent purchase could take stock twice (config/replica_acks.py).
    (code, detail, wake), acked = script_then_wait(script("purchase"), keys, args)
    if code != "OK" or acked >= acks_required():
        return code, detail, bool(wake)
    outcome = reservation_abandon(
        reservation_id=detail,
        user_id=user_id,
        idempotency_key=idempotency_key,
        reservation_ttl_ms=reservation_ttl_ms,
    )
    if outcome == "created":
        return code, detail, False  # a persister wrote the order already: it is durable in the database
    return NOT_REPLICATED, outcome, False


def reservation_abandon(
    *, reservation_id: str, user_id: int, idempotency_key: str | None, reservation_ttl_ms: int
) -> str:
    """Take back a reservation its replicas did not confirm, unless a persister has it (abandon.lua)."""
    keys = reservation_keys(reservation_id)  # the bucket it was taken from: its buyer's home bucket
    if keys is None:
        raise ValueError(f"not a reservation id: {reservation_id!r}")
    # Why a script: deciding "no persister has it" and taking it back must be one atomic step.
    return script("abandon")(
        keys=[
            keys.meta,
            keys.stock,
            keys.bought,
            keys.released,
            keys.stream,
            keys.holds,
            keys.reservation(reservation_id),
            keys.idempotency(user_id, idempotency_key or "-"),
            keys.stats,
        ],
        args=[reservation_id, CONSUMER_GROUP, reservation_ttl_ms],
    )
