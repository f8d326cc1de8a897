"""Public order numbers: UUIDv7 (RFC 9562), made in the process, without a central counter.

Layout: 48 bits of Unix time in ms, the version (7), 12 bits of a per-process counter, the
variant, and 62 random bits from ``secrets``. So numbers sort by the millisecond they were made
(MariaDB 10.11.5+ stores version 6 and above without swapping bytes, so its native ``uuid``
column sorts them the same way), a neighbour's number does not tell the next one (62 fresh
random bits each), and two processes can only collide if they draw the same 62 random bits in
the same millisecond with the same counter.

Why a counter in the 12 bits: within one millisecond, numbers of one process keep the order they
were made in. It starts at a random value below 1024 each millisecond and, if a process ever
makes the 3,072 more it has room for, waits for the next millisecond rather than run ahead of
the clock.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_COUNTER_START_BELOW = 1 << 10
_COUNTER_END = 1 << 12
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def _next_ms_and_counter() -> tuple[int, int]:
    global _last_ms, _counter
    # Why a lock: web threads share the counter; two of them must not take one value.
    with _lock:
        while True:
            ms = time.time_ns() // 1_000_000
            if ms > _last_ms:
                _last_ms, _counter = ms, secrets.randbelow(_COUNTER_START_BELOW)
                return ms, _counter
            if _counter + 1 < _COUNTER_END:
                # Same millisecond (or the clock stepped back): keep this process's order.
                _counter += 1
                return _last_ms, _counter
            time.sleep(0.0001)  # this millisecond's room is used up: wait for the next one


def order_number_new() -> uuid.UUID:
    ms, counter = _next_ms_and_counter()
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | secrets.randbits(62)
    return uuid.UUID(int=value)


def order_number_ms(number: uuid.UUID) -> int:
    """The Unix time in ms a number was made at."""
    return number.int >> 80
