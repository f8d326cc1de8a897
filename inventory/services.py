"""Writes of a sale's Redis projection: preheat, pause and resume, return units, repair the stock,
store a purchase token, settle persisted reservations (taking stock: inventory/purchase.py).

Every function takes ids and numbers; what to write is decided above (flashsale, orders,
reconciliation). Each is one script, so what it moves moves together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.redis import get_redis
from inventory.buckets import bucket_count_known, bucket_count_learn
from inventory.redis_schema import CONSUMER_GROUP, PAUSED, SELLING, home_bucket, reservation_keys, sale_keys
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
    buckets: int = 1,
) -> bool:
    """Write one bucket's selling state (``seen.bucket``; a one-bucket sale: the sale's) with a new
    generation if nothing moved since ``seen``; False if it did."""
    keys = sale_keys(sale_id, seen.bucket)
    extra: list = []
    if rebuild is not None:
        for user_id, qty in rebuild.bought.items():
            extra += ["b", user_id, qty]
        for reservation_id in rebuild.returned:
            extra += ["r", reservation_id]
        for reservation_id, until_ms in rebuild.holds.items():
            extra += ["h", reservation_id, until_ms]
    # Why a compare-and-set script: purchases and settles may move the counters between our read and this write.
    bucket_keys = [keys.meta, keys.stock, keys.bought, keys.released, keys.stream, keys.holds]
    bucket_keys += [keys.transfers_out, keys.transfers_in]
    result = script("preheat")(
        keys=bucket_keys + ([keys.queue] if seen.bucket == 0 else []),  # the waiting room lives in bucket 0
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
            buckets,
            *extra,
        ],
    )
    return result == "OK"


def selling_state_set(*, sale_id: int, selling: bool) -> bool:
    """Pause or resume a preheated sale at once (every bucket); False if it is not preheated."""
    buckets = bucket_count_learn(sale_id)
    pipe = get_redis().pipeline(transaction=False)  # one script per bucket (each its own slot), one round trip
    for bucket in range(buckets):
        # Why a script: set the state only if the bucket is preheated, in one step.
        script("set_state")(keys=[sale_keys(sale_id, bucket).meta], args=[SELLING if selling else PAUSED], client=pipe)
    return bool(pipe.execute()[0])


def _reservation_bucket(sale_id: int, reservation_id: str):
    """The keys of the bucket the reservation was taken from (bucket 0 for a malformed id)."""
    keys = reservation_keys(reservation_id)
    return keys if keys is not None and keys.sale_id == sale_id else sale_keys(sale_id)


def sale_window_set(*, sale_id: int, window: SaleWindow) -> bool:
    """Move a preheated sale's window and limit in Redis at once; False if it is not preheated."""
    # Why a script: only an existing meta is changed, and the three fields move together.
    return bool(
        script("set_window")(
            keys=[sale_keys(sale_id).meta], args=[window.starts_ms, window.ends_ms, window.per_user_limit]
        )
    )


def stock_release(*, sale_id: int, reservation_id: str, user_id: int, quantity: int) -> bool:
    """Give a closed order's units back to Redis, exactly once (guard keyed by reservation id), into
    the bucket the reservation came from (its buyer's home bucket, where their count is)."""
    keys = _reservation_bucket(sale_id, reservation_id)
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
    keys = _reservation_bucket(sale_id, reservation_id)
    return bool(script("hold_end")(keys=[keys.holds], args=[reservation_id]))


def stock_repair(*, sale_id: int, seen: RedisSaleState, stock: int) -> bool:
    """Set one bucket's stock (``seen.bucket``) to ``stock`` if nothing moved since ``seen``; False if
    something did."""
    keys = sale_keys(sale_id, seen.bucket)
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
    for _ in range(3):
        buckets = bucket_count_known(sale_id)
        lives = _token_store(sale_id, user_id, nonce, ttl_seconds, buckets)
        if lives == 0 and buckets > 1 and bucket_count_learn(sale_id) != buckets:
            continue  # Redis lost the sale, or it has fewer buckets now: ask where bucket 0 says
        if lives != -2:
            return lives
        bucket_count_learn(sale_id)  # the sale has another bucket count than this process thought
    return 0


def _token_store(sale_id: int, user_id: int, nonce: str, ttl_seconds: int, buckets: int) -> int:
    keys = sale_keys(sale_id, home_bucket(user_id, buckets))
    if keys.bucket == 0:
        # One round trip, and no database read: the token is stored only for a preheated sale and an admitted user.
        return int(
            script("token")(
                keys=[keys.meta, keys.token(user_id), keys.stats, keys.queue, keys.queue_admitted],
                args=[nonce, ttl_seconds, user_id, buckets],
            )
        )
    # The token lives in the user's home bucket, the waiting room in bucket 0 (another slot): read the
    # admission there first (one more round trip, for split sales only), then store the token.
    line = sale_keys(sale_id)
    pipe = get_redis().pipeline(transaction=False)
    pipe.hget(line.queue, "on")
    pipe.zscore(line.queue_admitted, user_id)
    on, until_ms = pipe.execute()
    admitted = str(int(until_ms or 0)) if on == "1" else ""
    return int(
        script("token")(
            keys=[keys.meta, keys.token(user_id), keys.stats], args=[nonce, ttl_seconds, user_id, buckets, admitted]
        )
    )


@dataclass(frozen=True)
class Settled:
    """A persisted stream entry and its outcome, as settle.lua takes it."""

    entry_id: str
    reservation_id: str
    user_id: int
    quantity: int
    outcome: str  # 'created' | 'failed'
    order_number: str | None  # the order's public number
    reason: str = ""


def reservations_settle(*, sale_id: int, settled: list[Settled], reservation_ttl_ms: int, bucket: int = 0) -> int:
    """After the DB commit: acknowledge, delete, count and publish the outcome of persisted entries
    of one bucket's stream, and give a failed one's units back once. Returns how many this call
    acknowledged."""
    keys = sale_keys(sale_id, bucket)
    args: list = [CONSUMER_GROUP, reservation_ttl_ms]
    for s in settled:
        args += [s.entry_id, s.reservation_id, s.user_id, s.quantity, s.outcome, s.order_number or "", s.reason]
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


def sale_keys_expire(*, sale_id: int, at_ms: int, buckets: int = 1) -> int:
    """Give every key of an ended sale an expiry at ``at_ms``, if nothing is owed any more (see
    expire_keys.lua). Returns how many keys got it; 0 = not yet; -1 = not in Redis.

    A split sale is expired bucket by bucket (each its own slot), the last bucket first and bucket 0
    (which holds the bucket count and the waiting room) last, stopping at the first bucket that
    still owes something: bucket 0 stays readable until every other bucket has been let go."""
    total = 0
    for bucket in range(buckets - 1, -1, -1):
        # Why a script: the checks (empty stream, nothing in flight, no dead letter, no hold, no
        # transfer in transit) and the expiries happen in one step, so an entry cannot slip in between.
        done = int(script("expire_keys")(keys=sale_keys(sale_id, bucket).lifetime(), args=[int(at_ms)]))
        if done == 0:
            return 0
        total += max(done, 0)
    return total if total > 0 else -1
