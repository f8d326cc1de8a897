"""Own server child processes: spawn, wait until ready, stop, never leak them."""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServerError(RuntimeError):
    """A server failed to start, stop or answer in time."""


_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def _kill_all() -> None:
    # Throwaway servers: at interpreter exit speed beats a clean shutdown.
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        kill(proc)


atexit.register(_kill_all)  # Module bodies run once, so this registers once.


def _parent_death_hook() -> Callable[[], None] | None:
    """Ask Linux to SIGKILL the child when we die, even by SIGKILL (atexit can't)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # Resolved before fork, not in the child.
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return hook


# Public: a preexec_fn for any child that must not outlive us (None off Linux). Same thread caveat as spawn().
DIE_WITH_PARENT = _parent_death_hook()


def spawn(argv: Sequence[str], output: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start argv with stdout+stderr appended to `output` and track it.

    Caveat: Linux delivers the parent-death signal when the *thread* that
    spawned the child exits, so spawn from a long-lived thread.
    """
    with open(output, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            preexec_fn=DIE_WITH_PARENT,
            start_new_session=True,  # Terminal Ctrl-C must reach us, not the servers: we stop them ourselves.
        )
    with _live_lock:
        _live.add(proc)
    return proc


def _forget(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live.discard(proc)


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (clean shutdown) and wait; SIGKILL if still alive after `timeout`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)  # A SIGSTOPped process would never act on SIGTERM.
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    _forget(proc)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL and reap (works on stopped processes too)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    _forget(proc)


def wait_ready(
    proc: subprocess.Popen,
    is_ready: Callable[[], bool],
    timeout: float,
    name: str,
    log: Path,
) -> None:
    """Poll `is_ready` until true; raise ServerError with the log tail if the
    process exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            _forget(proc)
            raise ServerError(f"{name} exited with code {proc.returncode}:\n{log_tail(log)}")
        if is_ready():
            return
        if time.monotonic() >= deadline:
            kill(proc)
            raise ServerError(f"{name} not ready after {timeout}s:\n{log_tail(log)}")
        time.sleep(0.05)


def port_clash(exc: ServerError) -> bool:
    """True if the server died because its TCP port was taken."""
    return "already in use" in str(exc)  # Wording of both redis-server and mariadbd.


def log_tail(path: Path, lines: int = 25) -> str:
    """Last `lines` lines of a log file, or a note that it is missing."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:])


def reap_stale(pidfile: Path, cwd: Path, timeout: float = 10.0) -> None:
    """SIGKILL a leftover server from an earlier run that owns `cwd`.

    Why check /proc/PID/cwd: pid files outlive their process and PIDs get
    reused; a live process running in our own directory is certainly ours.
    """
    try:
        pid = int(Path(pidfile).read_text().strip())
        if os.readlink(f"/proc/{pid}/cwd") != str(Path(cwd).resolve()):
            return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        return  # No pid file, no such process, or not ours.
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # A zombie holds no ports or files any more.
