"""The Redis side of the persister: read the reservation stream through its consumer group, settle
what was written, park what cannot be.

The stream ``fs:{sale}:reservations`` is the durable log of accepted purchases. A batch is read
here, written on the primary in one transaction by ``orders.services`` (orders with a unique
``reservation_id``, so a redelivered entry is harmless, and a guarded stock UPDATE), and only
after commit acknowledged, deleted and published by ``settle.lua`` in one atomic step (``settle``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings

from config.redis import get_redis
from inventory.dead_letters import dead_letter_encode
from inventory.redis_schema import CONSUMER_GROUP, StreamEntry, sale_keys
from inventory.services import Settled, reservations_settle

logger = logging.getLogger(__name__)


class Batch(NamedTuple):
    entries: list[tuple[str, dict | None]]
    first_delivery: bool  # read with ">": delivered for the first time, so no persister can have written it


@dataclass(frozen=True)
class Outcome:
    status: str  # 'created' | 'failed'
    order_number: str | None
    reason: str = ""


def consumer_name() -> str:
    # One consumer per process: a dead process's pending entries are re-claimed by idle time.
    return f"{socket.gethostname()}-{os.getpid()}"


# Per process: the (stream, consumer) pairs of this process whose entries are all settled, and when
# each stream is next due for an XAUTOCLAIM. Both only save round trips; a new process starts empty.
_settled: set[tuple[str, str]] = set()
_next_claim: dict[str, float] = {}


def read_batch(*, sale_id: int, consumer: str, count: int, bucket: int = 0) -> Batch:
    """The next entries for this consumer from one bucket's stream (a one-bucket sale: the sale's):
    its own unsettled ones first, then abandoned, then new."""
    r, stream = get_redis(), sale_keys(sale_id, bucket).stream
    # 1. Ours from an attempt that failed before settling (the DB was away, say). Known empty for
    # this process's own consumer once it has settled everything it read, so not asked every batch.
    if (stream, consumer) not in _settled:
        own = _own_pending(r, stream, consumer, count)
        if own:
            return Batch(own, first_delivery=False)
        if consumer == consumer_name():  # other names (tests, tools) may be shared: always ask
            _settled.add((stream, consumer))
    # 2. Why XAUTOCLAIM: a worker killed mid-batch leaves its entries pending forever otherwise.
    # Entries become claimable only after PERSIST_CLAIM_IDLE_MS, so asking about once a second is enough.
    if time.monotonic() >= _next_claim.get(stream, 0.0):
        claimed = r.xautoclaim(
            stream, CONSUMER_GROUP, consumer, settings.FLASHSALE["PERSIST_CLAIM_IDLE_MS"], "0-0", count=count
        )[1]
        if claimed:
            _settled.discard((stream, consumer))
            return Batch(claimed, first_delivery=False)
        _next_claim[stream] = time.monotonic() + min(1.0, settings.FLASHSALE["PERSIST_CLAIM_IDLE_MS"] / 4000)
    got = r.xreadgroup(CONSUMER_GROUP, consumer, {stream: ">"}, count=count)
    if got and got[0][1]:
        _settled.discard((stream, consumer))
        return Batch(got[0][1], first_delivery=True)
    return Batch([], first_delivery=True)


def batch_settled(*, sale_id: int, consumer: str, bucket: int = 0) -> None:
    """Everything this consumer read is settled: its next read need not look at its pending entries."""
    if consumer == consumer_name():
        _settled.add((sale_keys(sale_id, bucket).stream, consumer))


def batch_unsettled(*, sale_id: int, consumer: str, bucket: int = 0) -> None:
    """A batch failed before settling: the next read takes this consumer's pending entries first."""
    _settled.discard((sale_keys(sale_id, bucket).stream, consumer))


def _own_pending(r, stream: str, consumer: str, count: int) -> list[tuple[str, dict | None]]:
    """This consumer's unsettled entries, read with XRANGE rather than XREADGROUP ``0``.

    Why: XREADGROUP would count every retry as a delivery, and a DB outage would then use up
    PERSIST_MAX_DELIVERIES of perfectly good entries. Deliveries should count crashes only:
    the first delivery and each re-claim (XAUTOCLAIM) from a consumer that died.
    """
    pending = r.xpending_range(stream, CONSUMER_GROUP, min="-", max="+", count=count, consumername=consumer)
    if not pending:
        return []
    pipe = r.pipeline(transaction=False)
    for p in pending:
        pipe.xrange(stream, p["message_id"], p["message_id"])
    # An entry deleted while pending comes back as (id, None): parked and acknowledged as unreadable.
    return [found[0] if found else (p["message_id"], None) for p, found in zip(pending, pipe.execute())]


def wakeup_debounce_clear(*, sale_id: int, bucket: int = 0) -> None:
    """The stream was found empty: let the next purchase wake a persister (purchase.lua debounces
    its wake-ups with this key)."""
    get_redis().delete(sale_keys(sale_id, bucket).wakeup_debounce)


def settle(*, sale_id: int, entries: list[StreamEntry], outcomes: dict[str, Outcome], bucket: int = 0) -> int:
    """Acknowledge and publish the outcome of persisted entries (after the DB commit)."""
    settled = []
    for e in entries:
        o = outcomes[e.reservation_id]
        settled.append(Settled(e.entry_id, e.reservation_id, e.user_id, e.quantity, o.status, o.order_number, o.reason))
    return reservations_settle(
        sale_id=sale_id,
        settled=settled,
        reservation_ttl_ms=settings.FLASHSALE["RESERVATION_TTL"] * 1000,
        bucket=bucket,
    )


def park_poison(
    *, sale_id: int, raw: list[tuple[str, dict | None]], ack: bool = True, reason: str = "unreadable", bucket: int = 0
) -> None:
    """Keep entries, raw fields and all, where an operator sees them (the bucket's ``dead`` hash,
    inventory/dead_letters.py); ack the unreadable ones. ``ack=False``: the caller settles them as
    failures (their units go back), so they cannot be replayed."""
    keys, r = sale_keys(sale_id, bucket), get_redis()
    pipe = r.pipeline(transaction=True)  # MULTI: an entry is parked and dropped together, or neither
    for entry_id, fields in raw:
        logger.error("parking stream entry %s of sale %s (%s): %r", entry_id, sale_id, reason, fields)
        letter = dead_letter_encode(entry_id=entry_id, fields=fields, reason=reason, replayable=ack)
        pipe.hset(keys.dead_letters, entry_id, letter)
        if ack:  # unreadable: nothing to settle, so ack and drop it here
            pipe.xack(keys.stream, CONSUMER_GROUP, entry_id)
            pipe.xdel(keys.stream, entry_id)
    pipe.execute()


def over_delivered(*, sale_id: int, consumer: str, entry_ids: list[str], bucket: int = 0) -> set[str]:
    """The entries delivered more than PERSIST_MAX_DELIVERIES times (one XPENDING over the range)."""
    if not entry_ids:
        return set()
    limit = settings.FLASHSALE["PERSIST_MAX_DELIVERIES"]
    wanted = set(entry_ids)
    pending = get_redis().xpending_range(
        sale_keys(sale_id, bucket).stream,
        CONSUMER_GROUP,
        min=min(entry_ids, key=_id_key),
        max=max(entry_ids, key=_id_key),
        count=len(entry_ids),
        consumername=consumer,
    )
    return {p["message_id"] for p in pending if p["message_id"] in wanted and p["times_delivered"] > limit}


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def monotonic_budget() -> float:
    return time.monotonic() + settings.FLASHSALE["PERSIST_MAX_SECONDS"]
