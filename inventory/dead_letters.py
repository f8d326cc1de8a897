"""Dead letters: stream entries the persister could not turn into an order, parked per sale in
``fs:{sale}:dead`` (a hash: stream entry id -> JSON) with the entry's raw fields, so that an
operator can list them, replay one after a fix (it goes back on the stream exactly as it was
written) or discard it. Both are recorded by the caller (config/audit.py).

Two kinds, told apart by ``replayable``:
- unreadable (malformed, another sale's): acknowledged without a settle, so its units are still
  counted in flight; a replay puts it back on the stream and the persister settles it;
- given up (the DB refused it, or it crashed its workers too often): settled as a failure, its
  units returned and the shopper told; a replay would sell those units twice, so it is refused
  and the letter can only be discarded.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from config.redis import get_redis
from inventory.redis_schema import sale_keys
from inventory.scripts import script
from inventory.selectors import sale_bucket_count, sale_bucket_counts

MAX_LISTED = 500


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    fields: dict | None  # as the stream held them; None when the entry was gone before it was read
    reason: str
    parked_ms: int
    replayable: bool
    bucket: int = 0  # the bucket whose stream it came from (entry ids are unique per stream only)

    @property
    def parked_at(self) -> datetime:
        return datetime.fromtimestamp(self.parked_ms / 1000, tz=UTC)

    @property
    def reservation_id(self) -> str:
        return str((self.fields or {}).get("rid", ""))


def dead_letter_encode(*, entry_id: str, fields: dict | None, reason: str, replayable: bool) -> str:
    letter = {
        "entry_id": entry_id,
        "fields": fields,
        "reason": reason,
        "parked_ms": int(time.time() * 1000),
        "replayable": bool(replayable and fields),
    }
    return json.dumps(letter, separators=(",", ":"))


def _decode(entry_id: str, raw: str, bucket: int) -> DeadLetter:
    try:
        letter = json.loads(raw)
    except ValueError:  # written by an older version (a repr string): shown, never replayed
        return DeadLetter(entry_id, None, raw[:200], 0, False, bucket)
    return DeadLetter(
        entry_id,
        letter.get("fields"),
        str(letter.get("reason", "")),
        int(letter.get("parked_ms", 0)),
        bool(letter.get("replayable")),
        bucket,
    )


def dead_letters_list(*, sale_id: int) -> list[DeadLetter]:
    """The sale's dead letters over all its buckets, oldest first (at most MAX_LISTED)."""
    buckets = sale_bucket_count(sale_id)
    pipe = get_redis().pipeline(transaction=False)  # each bucket's hash sits in its own slot
    for bucket in range(buckets):
        pipe.hgetall(sale_keys(sale_id, bucket).dead_letters)
    letters = [
        _decode(entry_id, value, bucket) for bucket, raw in enumerate(pipe.execute()) for entry_id, value in raw.items()
    ]
    return sorted(letters, key=lambda letter: (letter.parked_ms, letter.bucket, letter.entry_id))[:MAX_LISTED]


def dead_letter_counts(sale_ids: list[int]) -> dict[int, int]:
    """Parked letters per sale, summed over its buckets, in two round trips for all (for /metrics)."""
    counts = sale_bucket_counts(sale_ids)
    pairs = [(sale_id, bucket) for sale_id in sale_ids for bucket in range(counts[sale_id])]
    pipe = get_redis().pipeline(transaction=False)  # each bucket's hash sits in its own slot
    for sale_id, bucket in pairs:
        pipe.hlen(sale_keys(sale_id, bucket).dead_letters)
    totals = dict.fromkeys(sale_ids, 0)
    for (sale_id, _), count in zip(pairs, pipe.execute()):
        totals[sale_id] += int(count)
    return totals


@dataclass(frozen=True)
class Replay:
    outcome: str  # OK | MISSING | REFUSED
    detail: str  # the new entry id, or why not


def dead_letter_replay(*, sale_id: int, entry_id: str, bucket: int = 0) -> Replay:
    keys = sale_keys(sale_id, bucket)
    # Why a script: the entry goes back on the stream and leaves the dead letters in one step, so
    # two operators clicking replay put it back once.
    outcome, detail = script("dead_replay")(keys=[keys.dead_letters, keys.stream], args=[entry_id])
    return Replay(outcome, detail)


def dead_letter_discard(*, sale_id: int, entry_id: str, bucket: int = 0) -> bool:
    """Drop a letter for good; False if it was gone already."""
    return bool(get_redis().hdel(sale_keys(sale_id, bucket).dead_letters, entry_id))
