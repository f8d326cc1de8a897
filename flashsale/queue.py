"""The waiting room: a fair, stock-aware line in front of a sale (docs/architecture.md).

Before the start, shoppers join a pre-queue; at the start it is shuffled (each shopper's random
key is drawn here with ``secrets`` when they join), and later joiners line up behind in arrival
order. A serving counter moves at the sale's ``admit_per_second``; an admission lasts
``admission_seconds``, and one that lapses without a purchase moves the counter one further. The
line closes for everyone the moment nothing can be bought. The scripts in ``flashsale/lua`` keep
all of it in the sale's Redis keys (one hash tag, so it stays cluster-legal).

A poll with its ticket (``X-Queue-Ticket``: the user, the sale and the place, signed) reads no
database row; each process keeps the line's counters for POLL_SNAPSHOT_SECONDS, so a shopper far
back costs no Redis call either.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing

from config.redis import get_redis
from flashsale.errors import NotInQueue, QueueNotOpen
from flashsale.scripts import script
from inventory.buckets import bucket_count_recent, other_buckets_stock
from inventory.redis_schema import QueueField, sale_keys

TICKET_SALT = "flashsale.queue-ticket"
TICKET_MAX_AGE = 6 * 3600
TICKET_REFRESH_AGE = TICKET_MAX_AGE // 2  # a poll gives back a ticket past this age re-signed, so it never runs out
POLL_SNAPSHOT_SECONDS = 0.2  # how stale a process's view of the line may be
ADVANCE_EVERY_MS = 200  # a poll advances the line at most this often (beat does it every second too)
NEAR_FRONT_SECONDS = 2  # shoppers admitted within this poll every second
POLL_MIN_MS, POLL_MAX_MS = 1000, 60_000


@dataclass(frozen=True)
class Snapshot:
    """The line as one script call saw it."""

    serving: int
    last_position: int
    held_until_ms: int | None
    admitted_per_second: float  # measured over the last samples (0 until there are two)
    paused: bool
    redis_now_ms: int
    rate_setting: float  # what the sale asks for: the ETA's rate until one is measured
    closed_reason: str = ""  # sold_out or ended once the line is closed for everyone

    @property
    def rate(self) -> float:
        return self.admitted_per_second or self.rate_setting


@dataclass(frozen=True)
class QueuePlace:
    state: str  # prequeue | waiting | admitted | lapsed | closed
    position: int | None = None
    ahead: int | None = None
    eta_seconds: int | None = None
    poll_after_ms: int = POLL_MIN_MS
    admitted_until: datetime | None = None
    held_until: datetime | None = None
    reason: str = ""
    ticket: str = ""


def queue_keys(sale_id: int) -> list[str]:
    """The KEYS every queue script takes, in lib/queue.lua's order."""
    k = sale_keys(sale_id)
    return [
        k.meta,
        k.stock,
        k.bought,
        k.holds,
        k.queue,
        k.queue_prequeue,
        k.queue_positions,
        k.queue_admitted,
        k.queue_lapsed,
        k.queue_joined,
        k.stats,
        k.queue_series,
    ]


def _ms_to_datetime(value) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value not in ("", None) else None


def _int_or_none(value) -> int | None:
    return int(float(value)) if value not in ("", None) else None


def ticket_sign(*, user_id: int, sale_id: int, position: int | None) -> str:
    return signing.dumps({"u": user_id, "s": sale_id, "p": position}, salt=TICKET_SALT, compress=True)


@dataclass(frozen=True)
class Ticket:
    """A ticket we signed: whose place in which line, and when it was signed."""

    text: str
    user_id: int
    position: int | None
    signed_at: int  # Unix seconds

    @property
    def fresh(self) -> bool:
        return time.time() - self.signed_at < TICKET_REFRESH_AGE


def ticket_verify(ticket: str, *, sale_id: int) -> Ticket | None:
    """The claims of a ticket we signed for this sale, or None."""
    try:
        data = signing.loads(ticket, salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != sale_id or type(data.get("u")) is not int:
        return None
    position = data.get("p")
    signed_at = signing.b62_decode(ticket.rsplit(":", 2)[1])  # the signer's timestamp, verified above
    return Ticket(ticket, data["u"], position if type(position) is int else None, signed_at)


def _poll_after_ms(*, ahead: int | None, waiting: int, rate: float) -> int:
    """Spread the polls: all the waiting together stay within FLASHSALE_QUEUE_POLL_BUDGET a second,
    the shoppers about to be admitted poll every second, and nobody polls later than half their ETA."""
    if ahead is None or rate <= 0:
        interval = POLL_MIN_MS
    elif ahead <= rate * NEAR_FRONT_SECONDS:
        return POLL_MIN_MS
    else:
        interval = waiting * 1000 / settings.FLASHSALE["QUEUE_POLL_BUDGET"]
        interval = min(interval, ahead / rate * 1000 / 2)
    jitter = random.uniform(0.9, 1.1)  # spreading polls: no security rests on it
    return int(min(POLL_MAX_MS, max(POLL_MIN_MS, interval * jitter)))


def _place(sale_id: int, user_id: int, view: list) -> tuple[QueuePlace, Snapshot]:
    state, position, ahead, admitted_until, reason, serving, last, held, rate, now, paused, setting = view
    closed = reason if state == "closed" else ""  # the one state that is the whole line's, not the shopper's
    snapshot = Snapshot(
        int(serving), int(last), _int_or_none(held), float(rate), paused == 1, int(now), float(setting), closed
    )
    position, ahead = _int_or_none(position), _int_or_none(ahead)
    admitted_rate = snapshot.rate
    place = QueuePlace(
        state=state,
        position=position,
        ahead=ahead,
        eta_seconds=math.ceil(ahead / admitted_rate) if ahead is not None and admitted_rate > 0 else None,
        poll_after_ms=_poll_after_ms(
            ahead=ahead, waiting=max(0, snapshot.last_position - snapshot.serving), rate=admitted_rate
        ),
        admitted_until=_ms_to_datetime(admitted_until),
        held_until=_ms_to_datetime(held),
        reason=reason,
        ticket=ticket_sign(user_id=user_id, sale_id=sale_id, position=position),
    )
    return place, snapshot


# --- the per-process view of each line ------------------------------------------------------------

_snapshots: dict[int, tuple[float, Snapshot]] = {}  # sale -> (taken at, snapshot)
_snapshots_lock = threading.Lock()


def _remember(sale_id: int, snapshot: Snapshot) -> None:
    # Why the lock: a process's threads share the dict; one torn write would serve a wrong counter.
    with _snapshots_lock:
        _snapshots[sale_id] = (time.monotonic(), snapshot)


def _fresh_snapshot(sale_id: int) -> Snapshot | None:
    entry = _snapshots.get(sale_id)
    if entry is None or time.monotonic() - entry[0] > POLL_SNAPSHOT_SECONDS:
        return None
    return entry[1]


def _run(name: str, sale_id: int, args: list) -> list:
    buckets = bucket_count_recent(sale_id)
    if buckets > 1:  # a split sale: the line knows the stock of bucket 0 only; tell it the rest
        args = [*args, *other_buckets_stock(sale_id, buckets)]
    answer = script(name)(keys=queue_keys(sale_id), args=args)
    return [a.decode() if isinstance(a, bytes) else a for a in answer]


# --- services ---------------------------------------------------------------------------------------


def queue_join(*, sale_id: int, user_id: int) -> QueuePlace | None:
    """Join the sale's line (idempotent while the place is alive). None if the sale is not preheated."""
    random_key = repr(secrets.randbits(52) / 2**52)  # the pre-queue's order, drawn here: not in Lua
    # One round trip: the line is brought up to now, then the place is taken or found.
    view = _run("queue_join", sale_id, [user_id, random_key])
    if view[0] == "NOT_PREHEATED":
        return None
    if view[0] == "NOT_OPEN":
        raise QueueNotOpen(int(view[1]))
    place, _snapshot = _place(sale_id, user_id, view)
    return place


def queue_place(*, sale_id: int, user_id: int, ticket: Ticket | None = None) -> QueuePlace | None:
    """The user's place now. Their ``ticket`` (its place) lets a shopper far back be answered from
    this process's recent view of the line, with no Redis call. None if the sale is not
    preheated; NotInQueue if they never joined."""
    known_position = ticket.position if ticket is not None else None
    cached = _fresh_snapshot(sale_id) if known_position is not None else None
    if cached is not None and cached.closed_reason:
        return _closed_from_snapshot(sale_id, ticket, cached)
    if cached is not None and known_position > cached.serving and not cached.paused:
        return _waiting_from_snapshot(sale_id, ticket, cached)
    # Why a script: advancing the line and reading the place must see one moment.
    view = _run("queue_state", sale_id, [user_id, ADVANCE_EVERY_MS])
    if view[0] == "NOT_PREHEATED":
        return None
    place, snapshot = _place(sale_id, user_id, view)
    _remember(sale_id, snapshot)
    if place.state == "none":
        raise NotInQueue()
    return place


def _waiting_from_snapshot(sale_id: int, ticket: Ticket, snapshot: Snapshot):
    # Ahead counts every place between the serving counter and this one (some may have left the
    # line; the next Redis-backed poll counts exactly).
    position = ticket.position
    ahead = max(0, position - snapshot.serving - 1)
    rate = snapshot.rate
    place = QueuePlace(
        state="waiting",
        position=position,
        ahead=ahead,
        eta_seconds=math.ceil(ahead / rate) if rate > 0 else None,
        poll_after_ms=_poll_after_ms(ahead=ahead, waiting=max(0, snapshot.last_position - snapshot.serving), rate=rate),
        held_until=_ms_to_datetime(snapshot.held_until_ms),
    )
    # The same place: the shopper's own ticket still says it (signing one anew costs as much as the rest).
    text = ticket.text if ticket.fresh else ticket_sign(user_id=ticket.user_id, sale_id=sale_id, position=position)
    return replace(place, ticket=text)


def _closed_from_snapshot(sale_id: int, ticket: Ticket, snapshot: Snapshot) -> QueuePlace:
    # What the script answers a closed line, for everyone: no place any more.
    return QueuePlace(
        state="closed",
        poll_after_ms=_poll_after_ms(ahead=None, waiting=0, rate=snapshot.rate),
        held_until=_ms_to_datetime(snapshot.held_until_ms),
        reason=snapshot.closed_reason,
        ticket=ticket_sign(user_id=ticket.user_id, sale_id=sale_id, position=None),
    )


def queue_advance(*, sale_id: int) -> None:
    """Bring the line up to now (beat does this every second, so admissions move without polls)."""
    # Why a script: the shuffle, the lapses and the admissions of one tick move together.
    _run("queue_state", sale_id, ["", ADVANCE_EVERY_MS])


def queue_pause(*, sale_id: int, paused: bool) -> bool:
    """Hold admission (shoppers keep their places) or let it go on. False, and nothing written, if
    the sale has no waiting room in Redis (not preheated, or its queue is off)."""
    r, key = get_redis(), sale_keys(sale_id).queue
    if r.hget(key, QueueField.ENABLED) != "1":
        return False
    # No lock between the read and the write: a preheat in between rewrites only the settings, and a
    # flag left on a line that was just switched off is never read (the scripts skip a line that is off).
    r.hset(key, QueueField.PAUSED, "1" if paused else "0")
    return True
