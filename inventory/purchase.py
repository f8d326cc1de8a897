"""Take stock for a purchase: one script in the shopper's home bucket, and for a split sale whose
home bucket is short, transfers from the other buckets first (docs/architecture.md).

A one-bucket sale, or a home bucket with the units, is one round trip, as always. Only a short home
bucket pays more: a reading of every bucket, a transfer (three scripts), the purchase again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from django.conf import settings

from inventory.buckets import BucketsReading, bucket_count_known, bucket_count_learn, buckets_read, stock_transfer
from inventory.confirmed_purchase import stock_take_confirmed
from inventory.redis_schema import home_bucket, reservation_id_bucket, reservation_id_new, sale_keys
from inventory.scripts import script


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
    buckets: int = 1  # the sale's bucket count as the caller knows it: the home bucket follows from it
    short_ok: bool = False  # answer SHORT rather than SOLD_OUT (a split sale: units can be moved here)

    @property
    def bucket(self) -> int:
        return home_bucket(self.user_id, self.buckets)


def purchase_script_arguments(ask: PurchaseAsk) -> tuple[list, list]:
    """KEYS and ARGV of purchase.lua (the bench pre-fills streams through this too)."""
    keys = sale_keys(ask.sale_id, ask.bucket)
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
            ask.buckets,
            1 if ask.short_ok else 0,
        ],
    )


def purchase_run(ask: PurchaseAsk) -> tuple[str, str, bool]:
    """One purchase script call in the ask's home bucket: (code, detail, wake the persister?)."""
    keys, args = purchase_script_arguments(ask)
    if settings.REDIS_REPLICA_ACKS:  # the script and WAIT together on the bucket's master (confirmed_purchase.py)
        return stock_take_confirmed(
            keys=keys,
            args=args,
            user_id=ask.user_id,
            idempotency_key=ask.idempotency_key,
            reservation_ttl_ms=ask.reservation_ttl_ms,
        )
    # One round trip: rate limits, idempotency, window, token, limit and stock, checked and taken atomically.
    code, detail, wake = script("purchase")(keys=keys, args=args)
    return code, detail, bool(wake)


TRANSFER_ROUNDS = 8
BUSY = "BUSY"  # the units exist but kept moving away from this shopper: answered 503, try again


def _for_buckets(ask: PurchaseAsk, buckets: int) -> PurchaseAsk:
    """The ask aimed at the home bucket of ``buckets``, its reservation id naming that bucket."""
    if buckets == 1 and ask.buckets == 1 and not ask.short_ok and reservation_id_bucket(ask.reservation_id) == 0:
        return ask  # the one-bucket sale, as always: nothing to change
    ask = replace(ask, buckets=buckets, short_ok=buckets > 1)
    if reservation_id_bucket(ask.reservation_id) != ask.bucket:
        ask = replace(ask, reservation_id=reservation_id_new(ask.sale_id, ask.bucket))
    return ask


def stock_take(ask: PurchaseAsk) -> tuple[str, str, bool]:
    """Run the purchase: (code, detail, wake the persister?). See purchase.lua for the codes; BUSY
    when the sale still holds the units but they kept going to other shoppers first."""
    ask = _for_buckets(ask, bucket_count_known(ask.sale_id))
    code, detail, wake = purchase_run(ask)
    if code == "MOVED":  # this process had the sale's bucket count wrong: once per process and sale
        ask = _for_buckets(ask, bucket_count_learn(ask.sale_id, int(detail)))
        code, detail, wake = purchase_run(ask)
    elif code == "NOT_PREHEATED" and ask.buckets > 1 and bucket_count_learn(ask.sale_id) != ask.buckets:
        # Redis lost the sale, or it was preheated again with fewer buckets: ask where bucket 0 says.
        ask = _for_buckets(ask, bucket_count_known(ask.sale_id))
        code, detail, wake = purchase_run(ask)
    if code != "SHORT":
        return code, detail, wake
    # Why no rate windows from here: the first call counted this attempt against both limits.
    return _take_with_transfers(replace(ask, rate_windows=(0, 0, 0, 0)))


def _take_with_transfers(ask: PurchaseAsk) -> tuple[str, str, bool]:
    """The home bucket is short: move units into it from the others until the purchase goes
    through, or every bucket together (units in transit included) holds less than asked."""
    for _ in range(TRANSFER_ROUNDS):
        reading = buckets_read(ask.sale_id, ask.buckets)
        if reading is not None and reading.total < ask.quantity:
            # Sold out for this quantity, as of one instant: the script answers (and spends the token).
            return purchase_run(replace(ask, short_ok=False))
        moved = _fill_home(ask, reading) if reading is not None else 0
        code, detail, wake = purchase_run(ask)
        if code != "SHORT":
            return code, detail, wake
        if moved == 0:
            time.sleep(0.001)  # units in transit to other shoppers' buckets: they land in a moment
    return BUSY, "", False


def _fill_home(ask: PurchaseAsk, reading: BucketsReading) -> int:
    """Transfer what the home bucket lacks, fullest donor first. Takes up to half of a donor's
    stock beyond the need, so a busy home bucket does not come back for every purchase."""
    need = ask.quantity - reading.stocks[ask.bucket]
    moved = 0
    donors = sorted((b for b in range(ask.buckets) if b != ask.bucket), key=lambda b: -reading.stocks[b])
    for donor in donors:
        if need - moved <= 0 or reading.stocks[donor] <= 0:
            break
        wanted = max(need - moved, reading.stocks[donor] // 2)
        moved += stock_transfer(sale_id=ask.sale_id, donor=donor, home=ask.bucket, wanted=wanted)
    return moved
