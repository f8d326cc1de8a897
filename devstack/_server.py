"""What every throwaway server shares: one owned child process, and how to stop, kill or restart it."""

from __future__ import annotations

import subprocess
from typing import Self

from . import _process


class OwnedServer:
    """Base of MariaDBServer and RedisServer; `default_timeout` is each one's start/stop budget in seconds."""

    default_timeout: float = 10.0
    _proc: subprocess.Popen | None = None  # Set by the subclass's start(), cleared by stop() and kill().

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    def start(self, timeout: float | None = None) -> Self:
        raise NotImplementedError

    def stop(self, timeout: float | None = None) -> None:
        """Clean shutdown (SIGTERM), SIGKILL after `timeout`."""
        if self._proc is not None:
            _process.stop(self._proc, self._timeout(timeout))
            self._proc = None

    def kill(self) -> None:
        """SIGKILL, as in a crash."""
        if self._proc is not None:
            _process.kill(self._proc)
            self._proc = None

    def restart(self, timeout: float | None = None) -> Self:
        """Stop if running, then start on the same port and directory."""
        self.stop(timeout)
        return self.start(timeout)

    def _timeout(self, timeout: float | None) -> float:
        return self.default_timeout if timeout is None else timeout
