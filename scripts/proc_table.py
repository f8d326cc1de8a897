"""Standard-library helpers shared by the `make run` smoke (scripts/smoke_run.py, run before anything
but Python is installed) and its test (tests/test_run_stack.py): the environment of an embedded
`make run`, and the processes it started, read from /proc."""

from __future__ import annotations

import os
import signal
from pathlib import Path

# What would make `make run` leave embedded mode, or not use our port and VAR_DIR.
DROPPED_PREFIXES = (
    "DATABASE_",
    "DB_",
    "REDIS_",
    "CELERY_",
    "DJANGO_",
    "FLASHSALE_",
    "ORDER_",
    "RECONCILE_",
    "DEMO_",
    "WEB_",
    "LOGIN_",
)
DROPPED = {
    "SECRET_KEY",
    "DEBUG",
    "VAR_DIR",
    "PORT",
    "SEED_DEMO",
    "REPLICA_PIN_SECONDS",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "TRUSTED_PROXIES",
    "SECURE_HTTPS",
    "RATELIMIT_ENABLE",
    "PAYMENT_GATEWAY_DECLINE",
    "PAYMENT_FAIL_HOOK",
    "ALLOW_LOAD_TEST_SWITCHES",
    "METRICS_TOKEN",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "LOG_LEVEL",
    "READY_TIMEOUT",
    "PYTEST_CURRENT_TEST",
}


def embedded_env(environ: dict[str, str], **extra: str) -> dict[str, str]:
    """``environ`` without what would steer `make run` away from its embedded defaults, plus ``extra``."""
    env = {k: v for k, v in environ.items() if k not in DROPPED and not k.startswith(DROPPED_PREFIXES)}
    return {**env, **extra}


def proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, state, start time) of a process, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0], int(fields[19])


def all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def descendants(root: int) -> dict[int, int]:
    """pid -> start time of `root` and its descendants, whatever their session (honcho and the Redis
    wrapper start theirs in new sessions: the process group alone would miss them)."""
    table = {pid: stat for pid in all_pids() if (stat := proc_stat(pid)) is not None}
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found[pid] = table[pid][2]
            todo.extend(child for child, (ppid, _, _) in table.items() if ppid == pid)
    return found


def carrying(marker: bytes) -> dict[int, int]:
    """pid -> start time of every process whose environment holds `marker` (our VAR_DIR): it catches
    a process that outlived its parent and was adopted by init, which `descendants` can no longer see."""
    found = {}
    for pid in all_pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and (stat := proc_stat(pid)) is not None:
            found[pid] = stat[2]
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "(gone)"


def still_running(procs: dict[int, int]) -> list[str]:
    """The processes of `procs` still running (a zombie or a reused pid does not count)."""
    return [
        f"{pid}: {cmdline(pid)}"
        for pid, started in procs.items()
        if (stat := proc_stat(pid)) is not None and stat[2] == started and stat[1] != "Z"
    ]


def kill_all(procs: dict[int, int]) -> None:
    for pid, started in procs.items():
        stat = proc_stat(pid)
        if stat is not None and stat[2] == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
