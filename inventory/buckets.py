"""A hot sale split over buckets: the bucket count each process remembers, a reading of every
bucket as of one instant, and transfers of units between buckets (docs/architecture.md, "A hot
sale split over buckets").

Every script here touches one bucket, so one slot. A transfer is two scripts: ``transfer_out``
takes units from a donor and records them there as in transit, ``transfer_in`` credits the home
bucket once (guarded by the transfer id), then ``transfer_done`` drops the donor's record. A
transfer that stops halfway stays recorded in the donor: reconciliation completes it
(``transfers_repair``), so no unit is lost.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings

from config.redis import get_redis
from inventory.redis_schema import MetaField, sale_keys
from inventory.scripts import script
from inventory.selectors import Transfer, sale_bucket_count, transfers_parse

SNAPSHOT_ATTEMPTS = 5

# Per process: the bucket count of each sale as last seen. A wrong one costs one round trip (the
# scripts answer MOVED with the right count); it starts at 1, so a one-bucket sale never pays.
_known_counts: dict[int, int] = {}


def bucket_count_known(sale_id: int) -> int:
    return _known_counts.get(sale_id, 1)


_learned_at: dict[int, float] = {}


def bucket_count_recent(sale_id: int, *, max_age: float = 5.0) -> int:
    """The sale's bucket count, read from Redis again when this process's is older than ``max_age``
    (for readers with no script that would answer MOVED: the waiting room)."""
    if time.monotonic() - _learned_at.get(sale_id, -max_age - 1) > max_age:
        bucket_count_learn(sale_id)
    return bucket_count_known(sale_id)


def bucket_counts_forget() -> None:
    """Forget every remembered count (tests, after emptying Redis)."""
    _known_counts.clear()
    _learned_at.clear()


def bucket_count_learn(sale_id: int, count: int | None = None) -> int:
    """Remember the sale's bucket count (read from Redis when not given)."""
    count = sale_bucket_count(sale_id) if count is None else count
    _known_counts[sale_id] = max(1, int(count))
    _learned_at[sale_id] = time.monotonic()
    return _known_counts[sale_id]


def other_buckets_stock(sale_id: int, buckets: int) -> tuple[int, int]:
    """(stock, holds still open) of buckets 1..n-1 together: what the waiting room in bucket 0
    cannot read itself (other slots). One round trip."""
    now_ms = int(time.time() * 1000)
    pipe = get_redis().pipeline(transaction=False)
    for bucket in range(1, buckets):
        keys = sale_keys(sale_id, bucket)
        pipe.get(keys.stock)
        pipe.zcount(keys.holds, f"({now_ms}", "+inf")
    values = pipe.execute()
    return sum(int(v or 0) for v in values[0::2]), sum(values[1::2])


@dataclass(frozen=True)
class BucketsReading:
    """Every bucket's stock and the units in transit between them, as of one instant."""

    stocks: tuple[int, ...]
    transfers: tuple[Transfer, ...]

    @property
    def in_transit(self) -> int:
        return sum(t.quantity for t in self.transfers)

    @property
    def total(self) -> int:
        """Every unit Redis can still sell: the buckets' stock and the units in transit."""
        return sum(self.stocks) + self.in_transit


def _collect(sale_id: int, buckets: int) -> list[tuple]:
    pipe = get_redis().pipeline(transaction=False)  # the buckets sit in different slots: no MULTI
    for bucket in range(buckets):
        keys = sale_keys(sale_id, bucket)
        pipe.hget(keys.meta, MetaField.SEQUENCE)
        pipe.get(keys.stock)
        pipe.hgetall(keys.transfers_out)
    values = pipe.execute()
    return [tuple(values[3 * b : 3 * b + 3]) for b in range(buckets)]


def buckets_read(sale_id: int, buckets: int) -> BucketsReading | None:
    """Every bucket as of one instant, or None if the sale kept moving.

    Why two collects: the buckets are different slots, read one after the other. Every script that
    moves a bucket's stock bumps its ``seq``; when two collects in a row find every bucket's seq,
    stock and transfers unchanged, nothing moved between the end of the first and the start of the
    second, so both describe that instant (a double-collect snapshot).
    """
    previous = _collect(sale_id, buckets)
    for _ in range(SNAPSHOT_ATTEMPTS):
        current = _collect(sale_id, buckets)
        if current == previous:
            stocks = tuple(int(stock or 0) for _, stock, _ in current)
            transfers = tuple(t for b, (_, _, out) in enumerate(current) for t in transfers_parse(b, out))
            return BucketsReading(stocks, transfers)
        previous = current
    return None


def stock_transfer(*, sale_id: int, donor: int, home: int, wanted: int) -> int:
    """Move up to ``wanted`` units from the donor bucket into the home bucket. Returns how many
    the home bucket got now (0 if the donor had none, or if the credit is left to reconciliation)."""
    transfer_id = secrets.token_hex(8)
    out, into = sale_keys(sale_id, donor), sale_keys(sale_id, home)
    # Why two scripts: donor and home are two slots; the donor's record keeps the units counted
    # (in transit) between the two, and is what reconciliation completes if we stop here.
    taken, generation, recorded_ms = script("transfer_out")(
        keys=[out.meta, out.stock, out.transfers_out], args=[transfer_id, home, wanted]
    )
    if int(taken) == 0:
        return 0
    # Guarded by the transfer id, refused past TRANSFER_TIMEOUT_MS (reconciliation's from then on).
    credited = script("transfer_in")(
        keys=[into.meta, into.stock, into.transfers_in],
        args=[transfer_id, taken, generation, recorded_ms, settings.FLASHSALE["TRANSFER_TIMEOUT_MS"]],
    )
    if credited not in (0, 1):
        return 0  # STALE or NOT_PREHEATED: the donor's record stays, reconciliation decides
    # The home bucket has the units: the donor's record is done (if this is lost, reconciliation drops it).
    script("transfer_done")(keys=[out.meta, out.stock, out.transfers_out], args=[transfer_id, "done"])
    return int(taken) if credited == 1 else 0


def transfer_complete(*, sale_id: int, transfer: Transfer) -> str:
    """Finish a transfer left halfway (reconciliation): credit its home bucket once and drop the
    donor's record; give the units back to the donor if the home bucket has no state at all.
    Returns 'credited', 'done' (it had been credited), 'undone' or 'waiting' (a preheat is under way)."""
    out, into = sale_keys(sale_id, transfer.donor), sale_keys(sale_id, transfer.home)
    # Any age: only transfers older than TRANSFER_TIMEOUT_MS are handed here, which their own
    # process can no longer credit; the transfer id guards against a second credit all the same.
    credited = script("transfer_in")(
        keys=[into.meta, into.stock, into.transfers_in],
        args=[transfer.transfer_id, transfer.quantity, transfer.generation, transfer.recorded_ms, ""],
    )
    if credited == "STALE":
        return "waiting"  # the home bucket is of another generation: a preheat is rewriting the sale
    mode = "undo" if credited == "NOT_PREHEATED" else "done"
    script("transfer_done")(keys=[out.meta, out.stock, out.transfers_out], args=[transfer.transfer_id, mode])
    return {1: "credited", 0: "done"}.get(credited, "undone")


def transfers_overdue(transfers: tuple[Transfer, ...], *, now_ms: int | None = None) -> list[Transfer]:
    """The transfers older than TRANSFER_TIMEOUT_MS: their own process has given up on them."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    timeout = settings.FLASHSALE["TRANSFER_TIMEOUT_MS"]
    return [t for t in transfers if now_ms - t.recorded_ms > timeout]
