"""From the reservation stream into the database: read a batch, write it in one transaction, settle.

The stream ``fs:{sale}:reservations`` is the durable log of accepted purchases. A batch is read
through the consumer group, written on the primary in one transaction (orders with a unique
``reservation_id``, so a redelivered entry is harmless, and a guarded stock UPDATE), and only
after commit acknowledged, deleted and published by ``settle.lua`` in one atomic step.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import NamedTuple

from django.conf import settings

from inventory import scripts
from inventory.keys import GROUP, sale_keys
from inventory.redis_client import get_redis

logger = logging.getLogger(__name__)
RESERVATION_ID = re.compile(r"^([1-9][0-9]{0,17})-[0-9a-f]{24}$")


@dataclass(frozen=True)
class Entry:
    entry_id: str
    reservation_id: str
    user_id: int
    quantity: int
    reserved_at: datetime
    fresh: bool = False  # read with ">": delivered for the first time, so no persister can have written it


class Batch(NamedTuple):
    entries: list[tuple[str, dict | None]]
    fresh: bool  # read with ">" (first delivery), not re-read or re-claimed


@dataclass(frozen=True)
class Outcome:
    status: str  # 'created' | 'failed'
    order_id: int | None
    reason: str = ""


def sale_of(reservation_id: str) -> int | None:
    match = RESERVATION_ID.match(reservation_id)
    return int(match.group(1)) if match else None


def consumer_name() -> str:
    # One consumer per process: a dead process's pending entries are re-claimed by idle time.
    return f"{socket.gethostname()}-{os.getpid()}"


def parse_entry(entry_id: str, fields: dict | None, *, fresh: bool = False) -> Entry | None:
    """An entry as the purchase script wrote it, or None if it is not one (a poison entry)."""
    try:
        ts = int(fields["ts"])
        entry = Entry(entry_id, str(fields["rid"]), int(fields["user"]), int(fields["qty"]),
                      datetime.fromtimestamp(ts / 1000, tz=dt_timezone.utc), fresh)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if entry.quantity < 1 or entry.user_id < 1 or not RESERVATION_ID.match(entry.reservation_id):
        return None
    return entry


# Per process: the (stream, consumer) pairs of this process whose entries are all settled, and when
# each stream is next due for an XAUTOCLAIM. Both only save round trips; a new process starts empty.
_settled: set[tuple[str, str]] = set()
_next_claim: dict[str, float] = {}


def read_batch(*, sale_id: int, consumer: str, count: int) -> Batch:
    """The next entries for this consumer: its own unsettled ones first, then abandoned, then new."""
    r, stream = get_redis(), sale_keys(sale_id).stream
    # 1. Ours from an attempt that failed before settling (the DB was away, say). Known empty for
    # this process's own consumer once it has settled everything it read, so not asked every batch.
    if (stream, consumer) not in _settled:
        own = _own_pending(r, stream, consumer, count)
        if own:
            return Batch(own, fresh=False)
        if consumer == consumer_name():  # other names (tests, tools) may be shared: always ask
            _settled.add((stream, consumer))
    # 2. Why XAUTOCLAIM: a worker killed mid-batch leaves its entries pending forever otherwise.
    # Entries become claimable only after PERSIST_CLAIM_IDLE_MS, so asking about once a second is enough.
    if time.monotonic() >= _next_claim.get(stream, 0.0):
        claimed = r.xautoclaim(stream, GROUP, consumer, settings.FLASHSALE["PERSIST_CLAIM_IDLE_MS"], "0-0", count=count)[1]
        if claimed:
            _settled.discard((stream, consumer))
            return Batch(claimed, fresh=False)
        _next_claim[stream] = time.monotonic() + min(1.0, settings.FLASHSALE["PERSIST_CLAIM_IDLE_MS"] / 4000)
    got = r.xreadgroup(GROUP, consumer, {stream: ">"}, count=count)
    if got and got[0][1]:
        _settled.discard((stream, consumer))
        return Batch(got[0][1], fresh=True)
    return Batch([], fresh=True)


def batch_settled(*, sale_id: int, consumer: str) -> None:
    """Everything this consumer read is settled: its next read need not look at its pending entries."""
    if consumer == consumer_name():
        _settled.add((sale_keys(sale_id).stream, consumer))


def batch_unsettled(*, sale_id: int, consumer: str) -> None:
    """A batch failed before settling: the next read takes this consumer's pending entries first."""
    _settled.discard((sale_keys(sale_id).stream, consumer))


def _own_pending(r, stream: str, consumer: str, count: int) -> list[tuple[str, dict | None]]:
    """This consumer's unsettled entries, read with XRANGE rather than XREADGROUP ``0``.

    Why: XREADGROUP would count every retry as a delivery, and a DB outage would then use up
    PERSIST_MAX_DELIVERIES of perfectly good entries. Deliveries should count crashes only:
    the first delivery and each re-claim (XAUTOCLAIM) from a consumer that died.
    """
    pending = r.xpending_range(stream, GROUP, min="-", max="+", count=count, consumername=consumer)
    if not pending:
        return []
    pipe = r.pipeline(transaction=False)
    for p in pending:
        pipe.xrange(stream, p["message_id"], p["message_id"])
    # An entry deleted while pending comes back as (id, None): parked and acknowledged as unreadable.
    return [found[0] if found else (p["message_id"], None) for p, found in zip(pending, pipe.execute())]


def rearm_kick(*, sale_id: int) -> None:
    """The stream was found empty: let the next purchase wake a persister (purchase.lua debounces
    its kicks with this key)."""
    get_redis().delete(sale_keys(sale_id).kick)


def settle(*, sale_id: int, entries: list[Entry], outcomes: dict[str, Outcome]) -> int:
    """Acknowledge and publish the outcome of persisted entries (after the DB commit)."""
    keys = sale_keys(sale_id)
    args: list = [GROUP, settings.FLASHSALE["RESERVATION_TTL"] * 1000]
    res_keys = []
    for e in entries:
        o = outcomes[e.reservation_id]
        args += [e.entry_id, e.reservation_id, e.user_id, e.quantity, o.status, o.order_id or "", o.reason]
        res_keys.append(keys.res(e.reservation_id))
    # Why a script: ack, delete, in-flight counter, failure refund and status must move together.
    return scripts.settle(keys=[keys.meta, keys.stock, keys.bought, keys.released, keys.stream, keys.stats, *res_keys], args=args)


def park_poison(*, sale_id: int, raw: list[tuple[str, dict | None]], ack: bool = True) -> None:
    """Keep entries where an operator sees them (``fs:{sale}:dead``); ack the unreadable ones."""
    keys, r = sale_keys(sale_id), get_redis()
    pipe = r.pipeline(transaction=True)
    for entry_id, fields in raw:
        logger.error("parking stream entry %s of sale %s: %r", entry_id, sale_id, fields)
        pipe.rpush(keys.dead, f"{entry_id} {fields!r}")
        if ack:  # unreadable: nothing to settle, so ack and drop it here
            pipe.xack(keys.stream, GROUP, entry_id)
            pipe.xdel(keys.stream, entry_id)
    pipe.execute()


def over_delivered(*, sale_id: int, consumer: str, entry_ids: list[str]) -> set[str]:
    """The entries delivered more than PERSIST_MAX_DELIVERIES times (one XPENDING over the range)."""
    if not entry_ids:
        return set()
    limit = settings.FLASHSALE["PERSIST_MAX_DELIVERIES"]
    wanted = set(entry_ids)
    pending = get_redis().xpending_range(sale_keys(sale_id).stream, GROUP, min=min(entry_ids, key=_id_key),
                                         max=max(entry_ids, key=_id_key), count=len(entry_ids), consumername=consumer)
    return {p["message_id"] for p in pending if p["message_id"] in wanted and p["times_delivered"] > limit}


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def payment_deadline(reserved_at: datetime) -> datetime:
    return reserved_at + timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT)


def monotonic_budget() -> float:
    return time.monotonic() + settings.FLASHSALE["PERSIST_MAX_SECONDS"]
