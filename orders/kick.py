"""Wake the persister after a purchase without making the shopper wait for the broker.

The purchase script already debounced the kick (at most one per sale per KICK_DEBOUNCE_MS), so
publishes are rare; they go through one background thread per process so that a slow or absent
broker never adds latency to, or fails, an accepted purchase. A lost kick costs at most one beat
interval: ``persist_sweep`` wakes every sale with reservations in flight.
"""
from __future__ import annotations

import logging
import os
import queue
import threading

logger = logging.getLogger(__name__)

_queue: queue.SimpleQueue[int] = queue.SimpleQueue()
_started_in_pid: int | None = None
_lock = threading.Lock()


def _publisher() -> None:
    from orders.tasks import persist_reservations

    while True:
        sale_id = _queue.get()
        try:
            persist_reservations.delay(sale_id)
        except Exception:  # broker down: the beat sweep will find the stream non-empty
            logger.warning("could not publish persist kick for sale %s", sale_id, exc_info=True)


def persist_kick(sale_id: int) -> None:
    global _started_in_pid
    if _started_in_pid != os.getpid():  # a forked web worker needs its own thread
        with _lock:
            if _started_in_pid != os.getpid():
                threading.Thread(target=_publisher, name="persist-kick", daemon=True).start()
                _started_in_pid = os.getpid()
    _queue.put(sale_id)
