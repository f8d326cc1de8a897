"""Writes of a sale's Redis projection: preheat, pause and resume, return units, repair the stock,
store a purchase token, take stock for a purchase, settle persisted reservations.

Every function takes ids and numbers; what to write is decided above (flashsale, orders,
reconciliation). Each is one script, so what it moves moves together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from inventory.confirmed_purchase import stock_take_confirmed
from inventory.redis_schema import CONSUMER_GROUP, PAUSED, SELLING, sale_keys
from inventory.scripts import script
from inventory.selectors import RedisSaleState


@dataclass(frozen=True)
class SaleWindow:
    starts_ms: int
    ends_ms: int
    per_user_limit: int
    selling: bool  # False: preheated paused (the kill switch is on)


@dataclass(frozen=True)
class QueueSettings:
    """The sale's waiting room as its scripts read it (flashsale/queue.py)."""

    enabled: bool = False
    admit_per_second: int = 50
    admission_ms: int = 120_000
    prequeue_ms: int = 600_000


@dataclass(frozen=True)
class Rebuild:
    """What a preheat writes when Redis lost the sale: per-user counts and the returns already made."""

    bought: dict[int, int]
    returned: list[str]  # reservation ids
    holds: dict[str, int]  # reservation id -> when its hold ends (ms): accepted, neither paid nor returned
    stream_length: int  # entries seen in the stream: a settle since then makes the script read again


def preheat_write(
    *,
    sale_id: int,
    seen: RedisSaleState,
    inflight: int,
    generation: int,
    stock: int,
    window: SaleWindow,
    rebuild: Rebuild | None,
    queue: QueueSettings,
) -> bool:
    """Write the selling state with a new generation if nothing moved since ``seen``; False if it did."""
    keys = sale_keys(sale_id)
    extra: list = []
    if rebuild is not None:
        for user_id, qty in rebuild.bought.items():
            extra += ["b", user_id, qty]
        for reservation_id in rebuild.returned:
            extra += ["r", reservation_id]
        for reservation_id, until_ms in rebuild.holds.items():
            extra += ["h", reservation_id, until_ms]
    # Why a compare-and-set script: purchases and settles may move the counters between our read and this write.
    result = script("preheat")(
        keys=[keys.meta, keys.stock, keys.bought, keys.released, keys.stream, keys.holds, keys.queue],
        args=[
            seen.generation_raw,
            seen.sequence,
            seen.inflight,
            generation,
            stock,
            window.starts_ms,
            window.ends_ms,
            window.per_user_limit,
            SELLING if window.selling else PAUSED,
            CONSUMER_GROUP,
            1 if rebuild is not None else 0,
            inflight,
            rebuild.stream_length if rebuild is not None else "",
            1 if queue.enabled else 0,
            queue.admit_per_second,
            queue.admission_ms,
            queue.prequeue_ms,
            *extra,
        ],
    )
    return result == "OK"


def selling_state_set(*, sale_id: int, selling: bool) -> bool:
    """Pause or resume a preheated sale at once; False if it is not preheated."""
    # Why a script: set the state only if the sale is preheated, in one step.
    return bool(script("set_state")(keys=[sale_keys(sale_id).meta], args=[SELLING if selling else PAUSED]))


def stock_release(*, sale_id: int, reservation_id: str, user_id: int, quantity: int) -> bool:
    """Give a closed order's units back to Redis, exactly once (guard keyed by reservation id)."""
    keys = sale_keys(sale_id)
    # Why a script: the guard and the two counters must move together or not at all.
    return bool(
        script("release")(
            keys=[keys.meta, keys.stock, keys.bought, keys.released, keys.holds],
            args=[reservation_id, user_id, quantity],
        )
    )


def hold_end(*, sale_id: int, reservation_id: str) -> bool:
    """A paid order's units are sold for good: they no longer hold the line open (once)."""
    # Why a script: the removal is the guard, so a second call changes nothing.
    return bool(script("hold_end")(keys=[sale_keys(sale_id).holds], args=[reservation_id]))


def stock_repair(*, sale_id: int, seen: RedisSaleState, stock: int) -> bool:
    """Set the stock to ``stock`` if nothing moved since ``seen``; False if something did."""
    keys = sale_keys(sale_id)
    # Why compare-and-set: only a Redis that still looks exactly as we read it may be overwritten.
    return bool(
        script("repair")(
            keys=[keys.meta, keys.stock, keys.released],
            args=[seen.generation_raw, seen.sequence, seen.inflight, seen.stock, stock, len(seen.released)],
        )
    )


def purchase_token_store(*, sale_id: int, user_id: int, nonce: str, ttl_seconds: int) -> int:
    """Keep a user's one-time purchase nonce. Returns the seconds it lives (never beyond the user's
    admission when the sale has a waiting room), 0 if the sale is not preheated, -1 if not admitted."""
    keys = sale_keys(sale_id)
    # One round trip, and no database read: the token is stored only for a preheated sale and an admitted user.
    return int(
        script("token")(
            keys=[keys.meta, keys.token(user_id), keys.stats, keys.queue, keys.queue_admitted],
            args=[nonce, ttl_seconds, user_id],
        )
    )


@dataclass(frozen=True)
class PurchaseAsk:
    """Everything purchase.lua checks and takes, as ids and numbers (its header documents each)."""

    sale_id: int
    user_id: int
    quantity: int
    nonce: str
    reservation_id: str
    idempotency_key: str | None = None
    fingerprint: str = ""  # '' = no Idempotency-Key
    ip_bucket: str = ""  # the client address as its per-IP limit counts it
    idempotency_ttl_ms: int = 0
    reservation_ttl_ms: int = 0
    wakeup_debounce_ms: int = 0
    rate_windows: tuple[int, int, int, int] = (0, 0, 0, 0)  # user max, user window ms, IP max, IP window ms
    hold_ms: int = 0  # how long the accepted units are held unpaid: the payment deadline


def purchase_script_arguments(ask: PurchaseAsk) -> tuple[list, list]:
    """KEYS and ARGV of purchase.lua (the bench pre-fills streams through this too)."""
    keys = sale_keys(ask.sale_id)
    return (
        [
            keys.meta,
            keys.stock,
            keys.bought,
            keys.token(ask.user_id),
            keys.idempotency(ask.user_id, ask.idempotency_key or "-"),
            keys.stream,
            keys.reservation(ask.reservation_id),
            keys.wakeup_debounce,
            keys.stats,
            keys.rate_user(ask.user_id),
            keys.rate_ip(ask.ip_bucket or "-"),
            keys.holds,
        ],
        [
            ask.user_id,
            ask.quantity,
            ask.nonce,
            ask.reservation_id,
            ask.fingerprint,
            ask.idempotency_ttl_ms,
            ask.reservation_ttl_ms,
            ask.wakeup_debounce_ms,
            *ask.rate_windows,
            ask.hold_ms,
        ],
    )


def stock_take(ask: PurchaseAsk) -> tuple[str, str, bool]:
    """Run the purchase: (code, detail, wake the persister?). See purchase.lua for the codes."""
    keys, args = purchase_script_arguments(ask)
    if settings.REDIS_REPLICA_ACKS:  # the script and WAIT together on the slot's master (confirmed_purchase.py)
        return stock_take_confirmed(
            sale_id=ask.sale_id,
            keys=keys,
            args=args,
            reservation_ttl_ms=ask.reservation_ttl_ms,
            idem_key=sale_keys(ask.sale_id).idempotency(ask.user_id, ask.idempotency_key or "-"),
        )
    # One round trip: rate limits, idempotency, window, token, limit and stock, checked and taken atomically.
    code, detail, wake = script("purchase")(keys=keys, args=args)
    return code, detail, bool(wake)


@dataclass(frozen=True)
class Settled:
    """A persisted stream entry and its outcome, as settle.lua takes it."""

    entry_id: str
    reservation_id: str
    user_id: int
    quantity: int
    outcome: str  # 'created' | 'failed'
    order_id: int | None
    reason: str = ""


def reservations_settle(*, sale_id: int, settled: list[Settled], reservation_ttl_ms: int) -> int:
    """After the DB commit: acknowledge, delete, count and publish the outcome of persisted entries,
    and give a failed one's units back once. Returns how many this call acknowledged."""
    keys = sale_keys(sale_id)
    args: list = [CONSUMER_GROUP, reservation_ttl_ms]
    for s in settled:
        args += [s.entry_id, s.reservation_id, s.user_id, s.quantity, s.outcome, s.order_id or "", s.reason]
    # Why a script: ack, delete, in-flight counter, failure refund and status must move together.
    return script("settle")(
        keys=[
            keys.meta,
            keys.stock,
            keys.bought,
            keys.released,
            keys.stream,
            keys.stats,
            keys.holds,
            *(keys.reservation(s.reservation_id) for s in settled),
        ],
        args=args,
    )
