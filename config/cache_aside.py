"""Cache-aside reads with the three guards: penetration, avalanche, breakdown. And invalidation
that a slow reader cannot undo.

``cached(key, load, ...)`` answers from the shared cache (Redis) and calls ``load()`` on a miss:

- **penetration**: ``load()`` returning None is cached too (for ``missing_seconds``), so a flood of
  requests for ids that do not exist costs one DB query per id and period, not one per request;
- **avalanche**: every period is jittered (±``JITTER``), so entries written together do not
  expire together;
- **breakdown**: an entry is *fresh* for ``fresh_seconds`` and then *stale* for ``stale_seconds``
  more. When it goes stale, the one request that wins a ``cache.add`` lock calls ``load()``; every
  other request is answered from the stale copy meanwhile. With no usable copy at all (first
  read, or after an invalidation) the others wait up to ``WAIT_SECONDS`` for the winner's entry,
  polling the cache, and only then load for themselves.

Invalidation by version, not by delete: an entry names the version of its *version key* it was
loaded under, and is used only while that key still holds that version. ``invalidate()`` writes a
new random version after the commit; an entry loaded before (even one a slow reader writes after
the invalidation) names the old one and is never served again, not even as a stale copy. So a
stale copy is only ever served after a plain expiry. The entry and its version key share a hash
tag (one Redis Cluster slot), so both come back in one MGET.

Version keys live VERSION_SECONDS, far longer than any entry: one that disappears reads as "" and
every entry written since the last invalidation names something else, so a lost version key costs
misses, never a stale answer. (Redis must not evict them: the project runs it with
``maxmemory-policy noeviction``.)
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.core.cache import cache

logger = logging.getLogger(__name__)

JITTER = 0.2  # every period is drawn from [period × 0.8, period × 1.2]
LOCK_SECONDS = 5  # a rebuild that takes longer than this lets the next request try
WAIT_SECONDS = 1.0  # how long a request with no usable copy waits for another one's rebuild
POLL_SECONDS = 0.005
VERSION_SECONDS = 24 * 3600
NO_VERSION = ""
_NONE = ("cache_aside.none",)  # how a cached "nothing there" is stored (None is the cache's own miss)


class _Entry(NamedTuple):
    version: str
    fresh_until: float
    value: Any


def jittered(seconds: float) -> float:
    return seconds * random.uniform(1 - JITTER, 1 + JITTER)


def _read(key: str, version_key: str | None) -> tuple[_Entry | None, str]:
    """The entry (if any) and the current version, in one round trip."""
    found = cache.get_many([key, version_key] if version_key else [key])
    entry = found.get(key)
    version = found.get(version_key) if version_key else None
    return (entry if isinstance(entry, _Entry) else None), version or NO_VERSION


def _unpack(value):
    return None if value == _NONE else value


def _store(key: str, version: str, value, fresh: float, stale: float) -> None:
    fresh = jittered(fresh)
    entry = _Entry(version, time.time() + fresh, _NONE if value is None else value)
    cache.set(key, entry, max(1, int(fresh + jittered(stale)) + 1))


def _rebuild(key, version, load, fresh, stale, missing, lock) -> Any:
    try:
        value = load()
        _store(key, version, value, missing if value is None else fresh, 0 if value is None else stale)
        return value
    finally:
        if lock:
            _quiet(cache.delete, lock)


def _quiet(call, *args, default=None):
    # Why swallow cache errors: the cache only saves work; a read must still be answered without it.
    try:
        return call(*args)
    except Exception:  # django-redis wraps connection errors in its own types
        logger.warning("cache %s failed", getattr(call, "__name__", call), exc_info=True)
        return default


def cached(
    key: str,
    load: Callable[[], Any],
    *,
    fresh_seconds: float,
    stale_seconds: float = 0,
    missing_seconds: float = 2,
    version_key: str | None = None,
    single_flight_when_absent: bool = True,
) -> Any:
    """``load()``'s value through the cache (see the module's docstring). ``key`` and
    ``version_key`` must share a hash tag. ``single_flight_when_absent=False``: with no entry at
    all, load without the lock (two round trips fewer), for keys that one client alone reads
    (an API token); an expired entry is still rebuilt by one request only."""
    try:
        entry, version = _read(key, version_key)
    except Exception:
        logger.warning("cache read of %s failed: loading", key, exc_info=True)
        return load()
    usable = entry is not None and entry.version == version
    if usable and entry.fresh_until > time.time():
        return _unpack(entry.value)
    if entry is None and not single_flight_when_absent:
        return _rebuild(key, version, load, fresh_seconds, stale_seconds, missing_seconds, None)
    lock = f"{key}:lock"
    if _quiet(cache.add, lock, 1, LOCK_SECONDS, default=True):
        if entry is not None:
            # Read once more under the lock: a request that saw the old copy just before another
            # finished its rebuild (and let go of the lock) must not rebuild it a second time.
            entry, version = _quiet(_read, key, version_key, default=(None, version))
            if entry is not None and entry.version == version and entry.fresh_until > time.time():
                _quiet(cache.delete, lock)
                return _unpack(entry.value)
        return _rebuild(key, version, load, fresh_seconds, stale_seconds, missing_seconds, lock)
    if usable:
        return _unpack(entry.value)  # stale after a plain expiry, while one request rebuilds it
    return _wait_for_rebuild(key, version_key, load, fresh_seconds, stale_seconds, missing_seconds)


def _wait_for_rebuild(key, version_key, load, fresh, stale, missing) -> Any:
    """No usable copy and another request rebuilds: wait briefly for its entry, then load ourselves."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        entry, version = _quiet(_read, key, version_key, default=(None, NO_VERSION))
        if entry is not None and entry.version == version:
            return _unpack(entry.value)
    return load()  # the rebuild is slow or failed: answer this request, leave the entry to it


def invalidate(version_keys: Iterable[str]) -> None:
    """After the commit of a change: every entry loaded before it (under these version keys) is
    never served again, and the next read loads anew."""
    keys = list(dict.fromkeys(version_keys))
    if keys:
        # A fresh random version per key: two invalidations can never write the same one.
        cache.set_many({k: uuid.uuid4().hex for k in keys}, VERSION_SECONDS)
