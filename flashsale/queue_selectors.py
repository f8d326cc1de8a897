"""Reads of the waiting room for operators: its numbers now and its recent samples (Redis only)."""

from __future__ import annotations

from dataclasses import dataclass

from config.redis import get_redis
from flashsale.queue import queue_keys
from flashsale.scripts import script
from inventory.redis_schema import sale_keys


@dataclass(frozen=True)
class QueueReading:
    """One moment of a sale's line, as ``queue_read.lua`` saw it."""

    enabled: bool
    paused: bool
    shuffled: bool
    prequeue: int  # joined before the start, not yet ranked
    waiting: int  # places past the serving counter
    admitted_now: int  # admissions not yet run out
    admitted_total: int
    lapsed_total: int
    closed_total: int  # shoppers told the line is closed
    rate_setting: float  # admissions a second the sale asks for
    rate_measured: float  # admissions a second over the last samples
    longest_wait_seconds: float | None  # the oldest waiting shopper's time since joining

    @property
    def in_line(self) -> int:
        return self.prequeue + self.waiting


@dataclass(frozen=True)
class QueueSample:
    """One second of the line (``q:series``): what the console's chart draws."""

    at_ms: int
    stock: int
    waiting: int
    admitted_total: int


def _reading(answer: list) -> QueueReading | None:
    if answer[0] == "NOT_PREHEATED":
        return None
    on, paused, shuffled, pre, waiting, adm_now, adm, lapsed, closed, rate, measured, oldest, now = answer
    return QueueReading(
        enabled=on == 1,
        paused=paused == 1,
        shuffled=shuffled == 1,
        prequeue=int(pre),
        waiting=int(waiting),
        admitted_now=int(adm_now),
        admitted_total=int(adm),
        lapsed_total=int(lapsed),
        closed_total=int(closed),
        rate_setting=float(rate),
        rate_measured=float(measured),
        longest_wait_seconds=max(0.0, (int(now) - int(oldest)) / 1000) if oldest else None,
    )


def queue_reading(*, sale_id: int) -> QueueReading | None:
    """The line's numbers now; None if the sale is not preheated."""
    return _reading(script("queue_read")(keys=queue_keys(sale_id), args=[]))


def queue_readings(sale_ids: list[int]) -> dict[int, tuple[QueueReading, dict[str, str]]]:
    """Each preheated sale's line numbers, with its stats hash (where the scripts keep the wait
    histogram), one round trip for all (for /metrics)."""
    if not sale_ids:
        return {}
    pipe = get_redis().pipeline(transaction=False)  # each sale's keys sit in their own cluster slot
    read = script("queue_read")
    for sale_id in sale_ids:
        read(keys=queue_keys(sale_id), args=[], client=pipe)
        pipe.hgetall(sale_keys(sale_id).stats)
    answers = pipe.execute()
    readings = {}
    for i, sale_id in enumerate(sale_ids):
        reading = _reading(answers[2 * i])
        if reading is not None:
            readings[sale_id] = (reading, answers[2 * i + 1])
    return readings


def queue_samples(*, sale_id: int) -> list[QueueSample]:
    """The line's kept samples, oldest first (one a second while the line moves)."""
    samples = []
    for raw in reversed(get_redis().lrange(sale_keys(sale_id).queue_series, 0, -1)):
        at_ms, stock, waiting, admitted = (int(x) for x in raw.split())
        samples.append(QueueSample(at_ms, stock, waiting, admitted))
    return samples
