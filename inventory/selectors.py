"""Reads of a sale's Redis projection."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from config.redis import get_redis
from inventory.redis_schema import (
    MetaField,
    ReservationRecord,
    StreamEntry,
    reservation_keys,
    reservation_record_parse,
    sale_keys,
    stream_entries_parse,
)


@dataclass(frozen=True)
class Transfer:
    """Units a donor bucket gave away, recorded there until the home bucket is known credited."""

    transfer_id: str
    donor: int
    home: int
    quantity: int
    generation: str
    recorded_ms: int


def transfers_parse(donor: int, fields: dict) -> tuple[Transfer, ...]:
    found = []
    for transfer_id, value in sorted(fields.items()):
        home, qty, gen, ms = value.split(" ")
        found.append(Transfer(transfer_id, donor, int(home), int(qty), gen, int(ms)))
    return tuple(found)


@dataclass(frozen=True)
class RedisSaleState:
    """One consistent snapshot of a sale's (or one bucket's) counters, stock, return guards and
    unsettled entries."""

    preheated: bool
    generation_raw: str  # '' when not preheated: the preheat script compares it as a string
    sequence: int
    inflight: int
    stock: int | None
    state: str
    released: frozenset[str]  # reservation ids whose units went back
    stream: tuple[StreamEntry, ...]  # entries not yet settled by the persister (read only with_stream)
    bucket: int = 0
    buckets: int = 1  # the sale's bucket count, as this bucket's meta says
    transfers_out: tuple[Transfer, ...] = ()  # units given away by this bucket, not yet known credited
    credited: frozenset[str] = frozenset()  # transfer ids this bucket was credited with

    @property
    def generation(self) -> int:
        return int(self.generation_raw or 0)

    @property
    def fingerprint(self) -> tuple:
        """What must not change between two readings for them to describe one moment."""
        return (
            self.generation_raw,
            self.sequence,
            self.inflight,
            self.stock,
            len(self.released),
            self.transfers_out,
        )

    def inflight_by_user(self) -> dict[int, int]:
        by_user: dict[int, int] = defaultdict(int)
        for entry in self.stream:
            by_user[entry.user_id] += entry.quantity
        return dict(by_user)


def redis_sale_state(sale_id: int, *, with_stream: bool = False, bucket: int = 0) -> RedisSaleState:
    """One bucket of the sale (bucket 0: a one-bucket sale's whole state), as of one instant."""
    keys = sale_keys(sale_id, bucket)
    # MULTI/EXEC: counters, stock, guards and stream as of one instant (the scripts move them together).
    pipe = get_redis().pipeline(transaction=True)
    pipe.hgetall(keys.meta)
    pipe.get(keys.stock)
    pipe.hkeys(keys.released)
    pipe.hgetall(keys.transfers_out)
    pipe.hkeys(keys.transfers_in)
    if with_stream:
        pipe.xrange(keys.stream)
    meta, stock, released, transfers_out, credited, *stream = pipe.execute()
    return RedisSaleState(
        preheated=bool(meta),
        generation_raw=meta.get(MetaField.GENERATION, ""),
        sequence=int(meta.get(MetaField.SEQUENCE, 0)),
        inflight=int(meta.get(MetaField.INFLIGHT, 0)),
        stock=int(stock) if stock is not None else None,
        state=meta.get(MetaField.STATE, ""),
        released=frozenset(released),
        stream=tuple(stream_entries_parse(stream[0])) if stream else (),
        bucket=bucket,
        buckets=int(meta.get(MetaField.BUCKETS, 1)),
        transfers_out=transfers_parse(bucket, transfers_out),
        credited=frozenset(credited),
    )


def combined_state(states: list[RedisSaleState]) -> RedisSaleState:
    """A split sale's buckets as one sale: stock summed with the units in transit between buckets
    (given away by a donor, not yet known credited), streams and return guards joined. A one-bucket
    sale's state is returned as it is."""
    if len(states) == 1:
        return states[0]
    first = states[0]
    credited = frozenset().union(*(s.credited for s in states))
    in_transit = sum(t.quantity for s in states for t in s.transfers_out if t.transfer_id not in credited)
    stocks = [s.stock for s in states if s.stock is not None]
    return RedisSaleState(
        preheated=first.preheated,
        generation_raw=first.generation_raw,
        sequence=sum(s.sequence for s in states),
        inflight=sum(s.inflight for s in states),
        stock=sum(stocks) + in_transit if stocks else None,
        state=first.state,
        released=frozenset().union(*(s.released for s in states)),
        stream=tuple(e for s in states for e in s.stream),
        bucket=0,
        buckets=first.buckets,
        transfers_out=tuple(t for s in states for t in s.transfers_out),
        credited=credited,
    )


def sale_bucket_count(sale_id: int) -> int:
    """How many buckets the sale's stock is split over, as Redis knows it (1 if not preheated)."""
    return int(get_redis().hget(sale_keys(sale_id).meta, MetaField.BUCKETS) or 1)


def sale_bucket_counts(sale_ids: list[int]) -> dict[int, int]:
    """The bucket count of each sale, one round trip for all."""
    pipe = get_redis().pipeline(transaction=False)  # each sale's bucket 0 sits in its own slot
    for sale_id in sale_ids:
        pipe.hget(sale_keys(sale_id).meta, MetaField.BUCKETS)
    return {s: int(n or 1) for s, n in zip(sale_ids, pipe.execute())}


def redis_sale_buckets(sale_id: int, *, with_stream: bool = False) -> list[RedisSaleState]:
    """Every bucket of the sale, each as of one instant (one MULTI per bucket: they are different
    slots, so different instants; ``stable`` readings compare two of these)."""
    first = redis_sale_state(sale_id, with_stream=with_stream)
    states = [first]
    for bucket in range(1, first.buckets):
        states.append(redis_sale_state(sale_id, with_stream=with_stream, bucket=bucket))
    return states


def _bucket_keys(sale_ids: list[int]) -> list[tuple[int, int]]:
    """(sale, bucket) for every bucket of every sale (one round trip to learn the counts)."""
    counts = sale_bucket_counts(sale_ids)
    return [(sale_id, bucket) for sale_id in sale_ids for bucket in range(counts[sale_id])]


def _sum_or_none(values) -> int | None:
    numbers = [int(v) for v in values if v is not None]
    return sum(numbers) if numbers else None


def redis_remaining(sale_ids: list[int]) -> dict[int, int | None]:
    """Units left per sale, summed over its buckets (None = not preheated)."""
    if not sale_ids:
        return {}
    pairs = _bucket_keys(sale_ids)
    pipe = get_redis().pipeline(transaction=False)  # not MGET: the keys sit in different cluster slots
    for sale_id, bucket in pairs:
        pipe.get(sale_keys(sale_id, bucket).stock)
    by_sale: dict[int, list] = defaultdict(list)
    for (sale_id, _), value in zip(pairs, pipe.execute()):
        by_sale[sale_id].append(value)
    return {s: _sum_or_none(by_sale[s]) for s in sale_ids}


def stream_lengths(sale_ids: list[int]) -> dict[int, int]:
    """Entries waiting in each sale's streams (all its buckets together)."""
    if not sale_ids:
        return {}
    pairs = _bucket_keys(sale_ids)
    pipe = get_redis().pipeline(transaction=False)
    for sale_id, bucket in pairs:
        pipe.xlen(sale_keys(sale_id, bucket).stream)
    lengths: dict[int, int] = dict.fromkeys(sale_ids, 0)
    for (sale_id, _), n in zip(pairs, pipe.execute()):
        lengths[sale_id] += n
    return lengths


def reservation_record(*, sale_id: int, reservation_id: str) -> ReservationRecord | None:
    keys = reservation_keys(reservation_id)  # the status lives in the reservation's bucket
    if keys is None or keys.sale_id != sale_id:
        return None
    return reservation_record_parse(get_redis().hgetall(keys.reservation(reservation_id)))


def sale_counters(sale_ids: list[int]) -> dict[int, tuple[dict, int | None, int | None]]:
    """(stats hash, units in flight, stock) per sale, summed over its buckets (for /metrics)."""
    if not sale_ids:
        return {}
    pairs = _bucket_keys(sale_ids)
    pipe = get_redis().pipeline(transaction=False)  # a pipeline, not MGET: each bucket sits in its own slot
    for sale_id, bucket in pairs:
        keys = sale_keys(sale_id, bucket)
        pipe.hgetall(keys.stats)
        pipe.hget(keys.meta, MetaField.INFLIGHT)
        pipe.get(keys.stock)
    values = pipe.execute()
    stats: dict[int, dict] = defaultdict(dict)
    inflight: dict[int, list] = defaultdict(list)
    stock: dict[int, list] = defaultdict(list)
    for i, (sale_id, _) in enumerate(pairs):
        bucket_stats, bucket_inflight, bucket_stock = values[3 * i : 3 * i + 3]
        for name, value in bucket_stats.items():
            stats[sale_id][name] = float(stats[sale_id].get(name, 0)) + float(value)
        inflight[sale_id].append(bucket_inflight)
        stock[sale_id].append(bucket_stock)
    return {s: (stats[s], _sum_or_none(inflight[s]), _sum_or_none(stock[s])) for s in sale_ids}


def bucket_stocks(sale_ids: list[int]) -> dict[int, list[int | None]]:
    """Each bucket's stock, per sale (the console and /metrics show them side by side)."""
    pairs = _bucket_keys(sale_ids)
    pipe = get_redis().pipeline(transaction=False)
    for sale_id, bucket in pairs:
        pipe.get(sale_keys(sale_id, bucket).stock)
    by_sale: dict[int, list[int | None]] = defaultdict(list)
    for (sale_id, _), value in zip(pairs, pipe.execute()):
        by_sale[sale_id].append(None if value is None else int(value))
    return dict(by_sale)
