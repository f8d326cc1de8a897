"""One app process (gunicorn, granian, Celery, ...) in a process group of its own, its output in a log file.

The tests and the bench start the app this way. Unlike a devstack server, a stop must reach the
whole group: a gunicorn master's workers, a Celery worker's pool processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ._process import DIE_WITH_PARENT


class ProcessGroup:
    """`argv` as the leader of a new session; stdout and stderr go to `log`.

    append: add to an existing log instead of starting it afresh.
    die_with_parent: SIGKILL the leader if we die, even by SIGKILL (Linux; see DIE_WITH_PARENT).
    Subclasses may change `stop_timeout` (seconds) and `tail_lines`.
    """

    stop_timeout: float = 20.0
    tail_lines: int = 30

    def __init__(
        self,
        argv: list[str],
        log: Path,
        *,
        env: dict[str, str],
        cwd: Path,
        name: str = "",
        append: bool = False,
        die_with_parent: bool = False,
    ) -> None:
        self.name, self.log = name, log
        self._fh = open(log, "ab" if append else "wb")
        # A session (hence a process group) of its own, so a signal to the group reaches the children too.
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=DIE_WITH_PARENT if die_with_parent else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[int]:
        """Direct children's pids (gunicorn's or granian's workers)."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # The group is gone already.

    def wait_started(self, is_up: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `is_up` until true; if the process dies or `timeout` passes, stop it and raise RuntimeError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_up():
                return
            if not self.alive():
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not start:\n{self.tail()}")

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM to the group (a clean shutdown), SIGKILL after `timeout`; then close the log."""
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(5)
        else:
            self.signal_group(signal.SIGKILL)  # A dead leader may leave workers behind.
        self._fh.close()

    def kill(self) -> None:
        """SIGKILL to the whole group, as in a crash of every process in it."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(10)

    def tail(self, n: int | None = None) -> str:
        """The last lines of the log (`tail_lines` by default)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-(self.tail_lines if n is None else n) :])
