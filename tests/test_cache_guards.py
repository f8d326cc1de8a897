"""Cache-aside with the three guards, on real Redis: penetration, avalanche, breakdown, and
invalidation that a slow reader cannot undo."""

from __future__ import annotations

import threading
import time

from django.core.cache import cache

from config import cache_aside
from config.cache_aside import cached, invalidate

KEY, VERSION = "t:{x}:e", "t:{x}:v"


def _read(load, **kwargs):
    return cached(KEY, load, fresh_seconds=30, stale_seconds=30, version_key=VERSION, **kwargs)


def _never():
    raise AssertionError("loaded, but a cached copy should have answered")


def test_a_missing_value_is_cached_so_the_next_read_loads_nothing():
    assert _read(lambda: None) is None
    assert _read(_never) is None


def test_periods_are_jittered_so_entries_written_together_expire_apart():
    now = time.time()
    for i in range(50):
        cached(f"t:{{j{i}}}:e", lambda: 1, fresh_seconds=10)
    periods = [cache.get(f"t:{{j{i}}}:e").fresh_until - now for i in range(50)]
    assert len({round(p, 3) for p in periods}) > 1
    assert all(7.9 <= p <= 12.1 for p in periods)


def test_a_stale_copy_is_served_while_another_request_rebuilds_it():
    _read(lambda: "old")
    cache.set(KEY, cache.get(KEY)._replace(fresh_until=0), 60)  # it simply expired
    cache.add(f"{KEY}:lock", 1, 5)  # another request is rebuilding it
    assert _read(_never) == "old"


def test_after_an_invalidation_no_stale_copy_is_served_even_while_another_request_rebuilds(monkeypatch):
    monkeypatch.setattr(cache_aside, "WAIT_SECONDS", 0.05)
    _read(lambda: "old")
    invalidate([VERSION])
    cache.add(f"{KEY}:lock", 1, 5)  # another request is rebuilding it (and never finishes)
    assert _read(lambda: "new") == "new"


def test_a_request_without_a_copy_waits_for_the_one_that_rebuilds():
    started, release = threading.Event(), threading.Event()
    loads = []

    def slow():
        loads.append(1)
        started.set()
        release.wait(5)
        return "built"

    first = threading.Thread(target=_read, args=(slow,))
    first.start()
    started.wait(5)
    answers = []
    second = threading.Thread(target=lambda: answers.append(_read(slow)))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert (answers, len(loads)) == (["built"], 1)


def test_a_slow_reader_cannot_write_an_older_value_back_after_an_invalidation():
    started, release = threading.Event(), threading.Event()

    def slow_old():
        started.set()
        release.wait(5)
        return "old"  # what the DB held when this read began

    reader = threading.Thread(target=_read, args=(slow_old,))
    reader.start()
    started.wait(5)
    invalidate([VERSION])  # the change commits while the slow read is in flight
    release.set()
    reader.join(5)
    assert _read(lambda: "new") == "new"
