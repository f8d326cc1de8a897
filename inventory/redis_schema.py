"""The sale's Redis projection, in one place: key names, the meta and stats fields, the stream
entry, the reservation id and the reservation status hash. The Lua scripts in ``inventory/lua``
write these; Python code reads and names them only through this module.

Every key of a sale carries the hash tag ``{<sale_id>}``, so all of a sale's keys live in one Redis
Cluster slot and a multi-key script over them stays legal.

A hot sale may split its stock over ``stock_buckets`` buckets (docs/architecture.md, "A hot sale
split over buckets"). Bucket 0 is the sale's tag ``{<sale>}`` itself (so a one-bucket sale is exactly
that); bucket b >= 1 is ``{<sale>.<b>}``, another slot. Each bucket has its own meta, stock, buyers,
stream, holds, returns and transfers; a shopper's token, idempotency records and rate counters live
in their home bucket; the waiting room lives in bucket 0 only.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

CONSUMER_GROUP = "persisters"  # the stream's consumer group: the persister processes
MAX_BUCKETS = 16


class MetaField:
    """Fields of ``fs:{sale}:meta``: present (with ``gen``) exactly when the sale is preheated."""

    GENERATION = "gen"  # bumped by every preheat
    SEQUENCE = "seq"  # accepted purchases since the preheat: a reading that saw it change is stale
    INFLIGHT = "inflight"  # units accepted and not yet settled by the persister
    STATE = "state"  # SELLING or PAUSED
    STARTS_MS = "starts"
    ENDS_MS = "ends"
    PER_USER_LIMIT = "limit"
    BUCKETS = "buckets"  # how many buckets the sale's stock is split over (absent = 1)


SELLING, PAUSED = "on", "paused"  # the values of MetaField.STATE


class QueueField:
    """Fields of ``fs:{sale}:q``, the waiting room: settings written by preheat, counters by the scripts."""

    ENABLED = "on"  # '1' or '0'
    ADMIT_PER_SECOND = "rate"
    ADMISSION_MS = "admit_ms"
    PREQUEUE_MS = "pre_ms"
    PAUSED = "paused"  # '1' while an operator holds admission
    SHUFFLED = "shuffled"  # '1' once the pre-queue was ranked at the start
    LAST_POSITION = "next"  # the last place given out
    SERVING = "serving"  # the last place called: places up to it were admitted (or lapsed)
    CARRY = "carry"  # admissions owed, in thousandths, between ticks
    LAST_TICK_MS = "tick"
    ADMITTED_TOTAL = "admitted"
    LAPSED_TOTAL = "lapsed"
    CLOSED_TOTAL = "closed"  # shoppers told the line is closed


class StatsField:
    """Counters of ``fs:{sale}:stats``, moved by the scripts in the round trip that does the work."""

    TOKENS_ISSUED = "tokens_issued"
    TOKENS_USED = "tokens_used"

    @staticmethod
    def purchases(code: str) -> str:
        return f"purchase:{code}"

    @staticmethod
    def orders(outcome: str) -> str:
        return f"orders_{outcome}"


@dataclass(frozen=True)
class SaleKeys:
    sale_id: int
    bucket: int = 0

    @property
    def tag(self) -> str:
        """The hash tag: ``<sale>`` for bucket 0 (today's keys), ``<sale>.<bucket>`` for the others."""
        return str(self.sale_id) if self.bucket == 0 else f"{self.sale_id}.{self.bucket}"

    def _k(self, suffix: str) -> str:
        return f"fs:{{{self.tag}}}:{suffix}"

    @property
    def meta(self) -> str:
        return self._k("meta")

    @property
    def stock(self) -> str:
        return self._k("stock")

    @property
    def bought(self) -> str:
        """Hash user id -> units held (accepted, not returned)."""
        return self._k("bought")

    @property
    def released(self) -> str:
        """Hash reservation id -> 1 for every reservation whose units went back (the exactly-once guard)."""
        return self._k("released")

    @property
    def transfers_out(self) -> str:
        """Hash transfer id -> 'home qty generation ms': units this bucket gave away, not yet known credited."""
        return self._k("xfer:out")

    @property
    def transfers_in(self) -> str:
        """Hash transfer id -> qty: transfers this bucket was credited with (the exactly-once guard)."""
        return self._k("xfer:in")

    @property
    def stream(self) -> str:
        """The durable log of accepted purchases, read by the persister."""
        return self._k("reservations")

    @property
    def wakeup_debounce(self) -> str:
        """Set (with a short TTL) when a purchase woke the persister: later ones need not."""
        return self._k("kick")

    @property
    def stats(self) -> str:
        return self._k("stats")

    @property
    def dead_letters(self) -> str:
        """Hash stream entry id -> JSON (raw fields, reason, replayable): inventory/dead_letters.py."""
        return self._k("dead")

    @property
    def holds(self) -> str:
        """Sorted set reservation id -> when its hold ends (ms): accepted, not yet paid or returned."""
        return self._k("holds")

    # The waiting room (flashsale/queue.py): its counters, the pre-queue, the line, the admitted.
    @property
    def queue(self) -> str:
        """Hash: the line's settings (QueueField) and counters."""
        return self._k("q")

    @property
    def queue_prequeue(self) -> str:
        """Sorted set user -> random key, drawn at join: the pre-queue, ranked by it at the start."""
        return self._k("q:pre")

    @property
    def queue_positions(self) -> str:
        """Sorted set user -> place in line (1, 2, ...)."""
        return self._k("q:pos")

    @property
    def queue_admitted(self) -> str:
        """Sorted set user -> until when (ms) the admission lasts."""
        return self._k("q:adm")

    @property
    def queue_lapsed(self) -> str:
        """Hash user -> when (ms) their admission ran out."""
        return self._k("q:lapsed")

    @property
    def queue_joined(self) -> str:
        """Hash user -> when (ms) they joined (the wait histogram's start)."""
        return self._k("q:joined")

    @property
    def queue_series(self) -> str:
        """List of recent samples 'ms stock waiting admitted_total' (newest first), for the console's chart."""
        return self._k("q:series")

    def queue_all(self) -> list[str]:
        return [
            self.queue,
            self.queue_prequeue,
            self.queue_positions,
            self.queue_admitted,
            self.queue_lapsed,
            self.queue_joined,
            self.queue_series,
        ]

    def lifetime(self) -> list[str]:
        """Every fixed-name key of this bucket, for the expiry after the sale's end (expire_keys.lua).
        The first five are what the expiry checks: meta, stream, dead letters, holds, units given
        away in transit. The per-user and per-reservation keys (token, idempotency, status, rate
        limits) carry TTLs of their own. Each bucket of a split sale is expired by its own call."""
        return [
            self.meta,
            self.stream,
            self.dead_letters,
            self.holds,
            self.transfers_out,
            self.transfers_in,
            self.stock,
            self.bought,
            self.released,
            self.wakeup_debounce,
            self.stats,
            *self.queue_all(),
        ]

    def token(self, user_id: int) -> str:
        return self._k(f"tok:{user_id}")

    def idempotency(self, user_id: int, key: str) -> str:
        return self._k(f"idem:{user_id}:{key}")

    def reservation(self, reservation_id: str) -> str:
        """The reservation's status hash, for polling."""
        return self._k(f"res:{reservation_id}")

    def rate_user(self, user_id: int) -> str:
        return self._k(f"rl:u:{user_id}")

    def rate_ip(self, ip: str) -> str:
        return self._k(f"rl:ip:{ip}")


def sale_keys(sale_id: int, bucket: int = 0) -> SaleKeys:
    return SaleKeys(int(sale_id), int(bucket))


def home_bucket(user_id: int, buckets: int) -> int:
    """The bucket that holds all of a shopper's state: a stable hash of the user id (CRC-32, the
    same in every process and every release), so a shopper always lands in the same slot."""
    if buckets <= 1:
        return 0
    return zlib.crc32(str(int(user_id)).encode()) % buckets


# --- the reservation id: "<sale id>[.<bucket>]-<24 hex digits>" -------------------------------------

RESERVATION_ID = re.compile(r"^([1-9][0-9]{0,17})(?:\.([1-9][0-9]?))?-[0-9a-f]{24}$")


def reservation_id_new(sale_id: int, bucket: int = 0) -> str:
    # The sale id and the bucket travel in the id, so a status lookup or a return finds the
    # reservation's Redis keys (its bucket's slot) with no DB read. Bucket 0 keeps today's form.
    tag = sale_keys(sale_id, bucket).tag
    return f"{tag}-{secrets.token_hex(12)}"


def reservation_id_sale(reservation_id: str) -> int | None:
    """The sale a reservation id belongs to, or None if it is not one."""
    match = RESERVATION_ID.match(reservation_id)
    return int(match.group(1)) if match else None


def reservation_id_bucket(reservation_id: str) -> int:
    """The bucket a (well-formed) reservation id was taken from: 0 for the ids of one-bucket sales."""
    match = RESERVATION_ID.match(reservation_id)
    return int(match.group(2)) if match and match.group(2) else 0


def reservation_keys(reservation_id: str) -> SaleKeys | None:
    """The keys of the bucket a reservation belongs to, or None if it is not a reservation id."""
    match = RESERVATION_ID.match(reservation_id)
    if match is None:
        return None
    return sale_keys(int(match.group(1)), int(match.group(2) or 0))


# --- the stream entry, as purchase.lua writes it ----------------------------------------------------


@dataclass(frozen=True)
class StreamEntry:
    entry_id: str
    reservation_id: str
    user_id: int
    quantity: int
    reserved_at: datetime
    fields: dict = field(default_factory=dict, compare=False, repr=False)  # as the stream held them


def stream_entry_parse(entry_id: str, fields: dict | None) -> StreamEntry | None:
    """An entry as the purchase script wrote it, or None if it is not one (a poison entry)."""
    try:
        entry = StreamEntry(
            entry_id,
            str(fields["rid"]),
            int(fields["user"]),
            int(fields["qty"]),
            datetime.fromtimestamp(int(fields["ts"]) / 1000, tz=UTC),
            dict(fields),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if entry.quantity < 1 or entry.user_id < 1 or not RESERVATION_ID.match(entry.reservation_id):
        return None
    return entry


def stream_entries_parse(raw: list[tuple[str, dict | list | None]]) -> list[StreamEntry]:
    """The well-formed entries of an XRANGE answer (poison ones are the persister's to park)."""
    return [entry for entry_id, fields in raw if (entry := stream_entry_parse(entry_id, _fields(fields))) is not None]


def _fields(fields: dict | list | None) -> dict | None:
    # redis-py's cluster MULTI leaves an XRANGE answer unparsed: [id, [field, value, ...]] per entry.
    return dict(zip(fields[::2], fields[1::2])) if isinstance(fields, list) else fields


# --- the reservation status hash (pending, then created or failed) ----------------------------------


@dataclass(frozen=True)
class ReservationRecord:
    status: str  # pending | created | failed
    user_id: int | None
    order_number: str | None
    reason: str


def reservation_record_parse(fields: dict) -> ReservationRecord | None:
    """The status hash as purchase.lua and settle.lua write it; None when there is none."""
    if not fields:
        return None
    user, order = fields.get("user", ""), fields.get("order_number", "")
    return ReservationRecord(
        fields.get("status", ""),
        int(user) if user.isdigit() else None,
        order or None,
        fields.get("reason", ""),
    )
