"""Run in a child process: make order numbers and note the clock around each (no Django needed)."""

from __future__ import annotations

import time

from orders.numbers import order_number_new


def make_numbers(count: int, out) -> None:
    made = []
    for _ in range(count):
        before = time.time_ns() // 1_000_000
        number = order_number_new()
        made.append((number.int, before, time.time_ns() // 1_000_000))
    out.put(made)
