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

MAX_LISTED = 500


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    fields: dict | None  # as the stream held them; None when the entry was gone before it was read
    reason: str
    parked_ms: int
    replayable: bool

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


def _decode(entry_id: str, raw: str) -> DeadLetter:
    try:
        letter = json.loads(raw)
    except ValueError:  # written by an older version (a repr string): shown, never replayed
        return DeadLetter(entry_id, None, raw[:200], 0, False)
    return DeadLetter(
        entry_id,
        letter.get("fields"),
        str(letter.get("reason", "")),
        int(letter.get("parked_ms", 0)),
        bool(letter.get("replayable")),
    )


def dead_letters_list(*, sale_id: int) -> list[DeadLetter]:
    """The sale's dead letters, oldest first (at most MAX_LISTED)."""
    raw = get_redis().hgetall(sale_keys(sale_id).dead_letters)
    letters = [_decode(entry_id, value) for entry_id, value in raw.items()]
    return sorted(letters, key=lambda letter: (letter.parked_ms, letter.entry_id))[:MAX_LISTED]


def dead_letter_counts(sale_ids: list[int]) -> dict[int, int]:
    """Parked letters per sale, one round trip for all (for /metrics)."""
    pipe = get_redis().pipeline(transaction=False)  # each sale's key sits in its own slot
    for sale_id in sale_ids:
        pipe.hlen(sale_keys(sale_id).dead_letters)
    return dict(zip(sale_ids, pipe.execute()))


@dataclass(frozen=True)
class Replay:
    outcome: str  # OK | MISSING | REFUSED
    detail: str  # the new entry id, or why not


def dead_letter_replay(*, sale_id: int, entry_id: str) -> Replay:
    keys = sale_keys(sale_id)
    # Why a script: the entry goes back on the stream and leaves the dead letters in one step, so
    # two operators clicking replay put it back once.
    outcome, detail = script("dead_replay")(keys=[keys.dead_letters, keys.stream], args=[entry_id])
    return Replay(outcome, detail)


def dead_letter_discard(*, sale_id: int, entry_id: str) -> bool:
    """Drop a letter for good; False if it was gone already."""
    return bool(get_redis().hdel(sale_keys(sale_id).dead_letters, entry_id))
