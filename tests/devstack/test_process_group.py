"""ProcessGroup, the wrapper of the app's processes in tests and the bench: a stop reaches the whole group.

No Django here. Each case starts a tiny Python leader that forks a `sleep` into its own group.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from devstack import ProcessGroup

# The leader starts a `sleep` in its own process group, says so, then sleeps or (with "exit") leaves it orphaned.
LEADER = """
import subprocess, sys, time
child = subprocess.Popen(["sleep", "60"])
print("child", child.pid, flush=True)
if sys.argv[1:] == ["exit"]:
    sys.exit(0)
time.sleep(60)
"""


def start(tmp_path: Path, *args: str, **kwargs: object) -> tuple[ProcessGroup, int]:
    log = tmp_path / "leader.log"
    proc = ProcessGroup([sys.executable, "-c", LEADER, *args], log, env=dict(os.environ), cwd=tmp_path, **kwargs)
    proc.wait_started(lambda: "child" in log.read_text(), 10, "leader")
    return proc, int(log.read_text().split()[1])


def gone(pid: int, timeout: float = 5.0) -> bool:
    """True once `pid` no longer exists or is a zombie (dead, not yet reaped by its new parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_stop_ends_the_leader_and_its_children(tmp_path) -> None:
    proc, child = start(tmp_path)
    proc.stop(timeout=5)
    assert not proc.alive()
    assert gone(child)


def test_stop_after_the_leader_died_still_ends_what_it_left_behind(tmp_path) -> None:
    proc, child = start(tmp_path, "exit")
    proc.popen.wait(10)
    assert not gone(child, timeout=0.2)
    proc.stop()
    assert gone(child)


def test_a_process_that_dies_while_starting_is_reported_with_its_log(tmp_path) -> None:
    log = tmp_path / "boom.log"
    log.write_text("from an earlier run\n")
    proc = ProcessGroup(
        [sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
        log,
        env=dict(os.environ),
        cwd=tmp_path,
        append=True,
    )
    with pytest.raises(RuntimeError, match=r"(?s)never did not start:.*from an earlier run.*boom"):
        proc.wait_started(lambda: False, 10, "never")
    assert proc.popen.returncode == 3
