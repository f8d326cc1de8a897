"""Shared foreground loop for the `python -m devstack.*` commands."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def serve_until_signal(is_alive: Callable[[], bool]) -> int:
    """Block until SIGTERM/SIGINT (return 0) or until the server dies (return 1)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.2):
        if not is_alive():
            return 1  # Non-zero so the process manager (honcho) notices.
    return 0
