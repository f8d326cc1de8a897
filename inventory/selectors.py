"""Reads of the stock as Redis holds it."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from inventory.keys import sale_keys
from inventory.redis_client import get_redis


@dataclass(frozen=True)
class RedisSaleState:
    preheated: bool
    generation_raw: str  # '' when not preheated: the preheat script compares it as a string
    seq: int
    inflight: int
    stock: int | None
    state: str
    stream_last_id: str

    @property
    def generation(self) -> int:
        return int(self.generation_raw or 0)


def redis_sale_state(sale_id: int) -> RedisSaleState:
    keys = sale_keys(sale_id)
    # MULTI/EXEC: one consistent snapshot of counters that the purchase script moves together.
    pipe = get_redis().pipeline(transaction=True)
    pipe.hgetall(keys.meta)
    pipe.get(keys.stock)
    pipe.xrevrange(keys.stream, count=1)
    meta, stock, last = pipe.execute()
    return RedisSaleState(
        preheated=bool(meta),
        generation_raw=meta.get("gen", ""),
        seq=int(meta.get("seq", 0)),
        inflight=int(meta.get("inflight", 0)),
        stock=int(stock) if stock is not None else None,
        state=meta.get("state", ""),
        stream_last_id=last[0][0] if last else "0-0",
    )


def stream_inflight(sale_id: int) -> tuple[int, dict[int, int]]:
    """Units in the stream (entries not yet persisted: settled ones are deleted), total and per user."""
    by_user: dict[int, int] = defaultdict(int)
    for _id, fields in get_redis().xrange(sale_keys(sale_id).stream):
        if fields and fields.get("user", "").isdigit() and fields.get("qty", "").isdigit():
            by_user[int(fields["user"])] += int(fields["qty"])
    return sum(by_user.values()), dict(by_user)


def redis_remaining(sale_ids: list[int]) -> dict[int, int | None]:
    """Units left per sale, one round trip for all (None = not preheated)."""
    if not sale_ids:
        return {}
    pipe = get_redis().pipeline(transaction=False)  # not MGET: the keys sit in different cluster slots
    for sale_id in sale_ids:
        pipe.get(sale_keys(sale_id).stock)
    values = pipe.execute()
    return {s: (int(v) if v is not None else None) for s, v in zip(sale_ids, values)}
