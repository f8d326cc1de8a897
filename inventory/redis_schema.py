"""The sale's Redis projection, in one place: key names, the meta and stats fields, the stream
entry, the reservation id and the reservation status hash. The Lua scripts in ``inventory/lua``
write these; Python code reads and names them only through this module.

Every key of a sale carries the hash tag ``{<sale_id>}``, so all of a sale's keys live in one Redis
Cluster slot and a multi-key script over them stays legal.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

CONSUMER_GROUP = "persisters"  # the stream's consumer group: the persister processes


class MetaField:
    """Fields of ``fs:{sale}:meta``: present (with ``gen``) exactly when the sale is preheated."""

    GENERATION = "gen"  # bumped by every preheat
    SEQUENCE = "seq"  # accepted purchases since the preheat: a reading that saw it change is stale
    INFLIGHT = "inflight"  # units accepted and not yet settled by the persister
    STATE = "state"  # SELLING or PAUSED
    STARTS_MS = "starts"
    ENDS_MS = "ends"
    PER_USER_LIMIT = "limit"


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

    def _k(self, suffix: str) -> str:
        return f"fs:{{{self.sale_id}}}:{suffix}"

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
        """Every fixed-name key of the sale, for the expiry after its end (expire_keys.lua). The
        first four are what the expiry checks: meta, stream, dead letters, holds. The per-user and
        per-reservation keys (token, idempotency, status, rate limits) carry TTLs of their own.
        A sale whose stock is split into buckets adds its buckets' keys after these."""
        return [
            self.meta,
            self.stream,
            self.dead_letters,
            self.holds,
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


def sale_keys(sale_id: int) -> SaleKeys:
    return SaleKeys(int(sale_id))


# --- the reservation id: "<sale id>-<24 hex digits>" -----------------------------------------------

RESERVATION_ID = re.compile(r"^([1-9][0-9]{0,17})-[0-9a-f]{24}$")


def reservation_id_new(sale_id: int) -> str:
    # The sale id travels in the id so a status lookup finds the sale's Redis keys with no DB read.
    return f"{int(sale_id)}-{secrets.token_hex(12)}"


def reservation_id_sale(reservation_id: str) -> int | None:
    """The sale a reservation id belongs to, or None if it is not one."""
    match = RESERVATION_ID.match(reservation_id)
    return int(match.group(1)) if match else None


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
    order_id: int | None
    reason: str


def reservation_record_parse(fields: dict) -> ReservationRecord | None:
    """The status hash as purchase.lua and settle.lua write it; None when there is none."""
    if not fields:
        return None
    user, order = fields.get("user", ""), fields.get("order_id", "")
    return ReservationRecord(
        fields.get("status", ""),
        int(user) if user.isdigit() else None,
        int(order) if order.isdigit() else None,
        fields.get("reason", ""),
    )
