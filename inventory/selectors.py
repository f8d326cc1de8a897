"""Reads of a sale's Redis projection."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from config.redis import get_redis
from inventory.redis_schema import (
    MetaField,
    ReservationRecord,
    StreamEntry,
    reservation_record_parse,
    sale_keys,
    stream_entries_parse,
)


@dataclass(frozen=True)
class RedisSaleState:
    """One consistent snapshot of a sale's counters, stock, return guards and unsettled entries."""

    preheated: bool
    generation_raw: str  # '' when not preheated: the preheat script compares it as a string
    sequence: int
    inflight: int
    stock: int | None
    state: str
    released: frozenset[str]  # reservation ids whose units went back
    stream: tuple[StreamEntry, ...]  # entries not yet settled by the persister (read only with_stream)

    @property
    def generation(self) -> int:
        return int(self.generation_raw or 0)

    @property
    def fingerprint(self) -> tuple:
        """What must not change between two readings for them to describe one moment."""
        return (self.generation_raw, self.sequence, self.inflight, self.stock, len(self.released))

    def inflight_by_user(self) -> dict[int, int]:
        by_user: dict[int, int] = defaultdict(int)
        for entry in self.stream:
            by_user[entry.user_id] += entry.quantity
        return dict(by_user)


def redis_sale_state(sale_id: int, *, with_stream: bool = False) -> RedisSaleState:
    keys = sale_keys(sale_id)
    # MULTI/EXEC: counters, stock, guards and stream as of one instant (the scripts move them together).
    pipe = get_redis().pipeline(transaction=True)
    pipe.hgetall(keys.meta)
    pipe.get(keys.stock)
    pipe.hkeys(keys.released)
    if with_stream:
        pipe.xrange(keys.stream)
    meta, stock, released, *stream = pipe.execute()
    return RedisSaleState(
        preheated=bool(meta),
        generation_raw=meta.get(MetaField.GENERATION, ""),
        sequence=int(meta.get(MetaField.SEQUENCE, 0)),
        inflight=int(meta.get(MetaField.INFLIGHT, 0)),
        stock=int(stock) if stock is not None else None,
        state=meta.get(MetaField.STATE, ""),
        released=frozenset(released),
        stream=tuple(stream_entries_parse(stream[0])) if stream else (),
    )


def redis_remaining(sale_ids: list[int]) -> dict[int, int | None]:
    """Units left per sale, one round trip for all (None = not preheated)."""
    if not sale_ids:
        return {}
    pipe = get_redis().pipeline(transaction=False)  # not MGET: the keys sit in different cluster slots
    for sale_id in sale_ids:
        pipe.get(sale_keys(sale_id).stock)
    values = pipe.execute()
    return {s: (int(v) if v is not None else None) for s, v in zip(sale_ids, values)}


def stream_lengths(sale_ids: list[int]) -> dict[int, int]:
    """Entries waiting in each sale's stream, one round trip for all."""
    pipe = get_redis().pipeline(transaction=False)
    for sale_id in sale_ids:
        pipe.xlen(sale_keys(sale_id).stream)
    return dict(zip(sale_ids, pipe.execute()))


def reservation_record(*, sale_id: int, reservation_id: str) -> ReservationRecord | None:
    return reservation_record_parse(get_redis().hgetall(sale_keys(sale_id).reservation(reservation_id)))


def sale_counters(sale_ids: list[int]) -> dict[int, tuple[dict, int | None, int | None]]:
    """(stats hash, units in flight, stock) per sale, one round trip for all (for /metrics)."""
    pipe = get_redis().pipeline(transaction=False)  # a pipeline, not MGET: each sale's keys sit in their own slot
    for sale_id in sale_ids:
        keys = sale_keys(sale_id)
        pipe.hgetall(keys.stats)
        pipe.hget(keys.meta, MetaField.INFLIGHT)
        pipe.get(keys.stock)
    values = pipe.execute()
    counters = {}
    for i, sale_id in enumerate(sale_ids):
        stats, inflight, stock = values[3 * i : 3 * i + 3]
        counters[sale_id] = (stats, None if inflight is None else int(inflight), None if stock is None else int(stock))
    return counters
