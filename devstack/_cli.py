"""Shared foreground loop for the `python -m devstack.*` commands.

Why the handlers are installed first thing in main(), before any server starts:
a caller that reads the printed URLs may send SIGTERM the very next instant.
If the handler were installed only after the print, that SIGTERM could land in
between and hit Python's default disposition: the wrapper dies with -SIGTERM,
skipping the clean stop of its servers (they then get the parent-death SIGKILL).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(BaseException):
    """SIGTERM/SIGINT arrived while the servers were still starting.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` in
    the start-up code swallows it; the ExitStack in main() unwinds and stops
    whatever already runs.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # The shell convention for "ended by this signal".


class Foreground:
    """Signal handling of one foreground command. Create it before starting anything.

    While starting: a stop signal raises StopRequested (start-up is aborted).
    From serve() on: a stop signal only ends the serve loop, whenever it comes,
    so the servers are stopped cleanly and the command exits 0.
    """

    def __init__(self) -> None:
        self._serving = False
        self._stop = threading.Event()
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._serving:
            self._stop.set()
        else:
            raise StopRequested(signum)

    def serve(self, lines: Iterable[str], is_alive: Callable[[], bool]) -> int:
        """Print `lines` (the URLs), then block until a stop signal (0) or a dead server (1)."""
        self._serving = True  # Before the print: whoever reads it may signal at once.
        for line in lines:
            print(line, flush=True)
        while not self._stop.wait(0.2):
            if not is_alive():
                return 1  # Non-zero so the process manager (honcho) notices.
        return 0
