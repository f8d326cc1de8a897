"""Wake the persister after a purchase without making the shopper wait for the broker.

The purchase script already debounced the wake-up (at most one per sale per KICK_DEBOUNCE_MS), so
publishes are rare; they go through one background thread per process so that a slow or absent
broker never adds latency to, or fails, an accepted purchase. The task is sent by its name: the
persister lives in orders, a layer above, and a name is all a publisher needs. A lost wake-up costs
at most one beat interval: the sweep wakes every sale with reservations in flight.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

from config.celery_app import app

logger = logging.getLogger(__name__)
PERSIST_TASK = "orders.persist_reservations"  # orders.tasks.reservations_drain_task

_queue: queue.SimpleQueue[int] = queue.SimpleQueue()
_started_in_pid: int | None = None
_lock = threading.Lock()


def _publisher() -> None:
    while True:
        sale_id = _queue.get()
        try:
            app.send_task(PERSIST_TASK, args=[sale_id])
        except Exception:  # broker down: the beat sweep will find the stream non-empty
            logger.warning("could not publish the persister's wake-up for sale %s", sale_id, exc_info=True)


def persister_wake(sale_id: int) -> None:
    global _started_in_pid
    if _started_in_pid != os.getpid():  # a forked web worker needs its own thread
        # Why the lock: two threads of one process must not both start a publisher.
        with _lock:
            if _started_in_pid != os.getpid():
                threading.Thread(target=_publisher, name="persister-wakeup", daemon=True).start()
                _started_in_pid = os.getpid()
    _queue.put(sale_id)
