"""The app's own processes, started for a test: gunicorn and a Celery worker, on the test stack."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from devstack import ProcessGroup, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


class Proc(ProcessGroup):
    """A test's process: a fresh log at each start; a stop turns to SIGKILL after 15 s."""

    stop_timeout = 15.0
    tail_lines = 40

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]):
        super().__init__(argv, log, env=env, cwd=ROOT)


def queues() -> tuple[str, str]:
    """This session's (or fault test's) persister queue and maintenance queue, as the app derives them."""
    queue = os.environ["CELERY_QUEUE"]
    return queue, os.environ.get("CELERY_MAINTENANCE_QUEUE") or f"{queue}-maintenance"


def start_worker(
    tmp: Path,
    *,
    concurrency: int = 2,
    env: dict[str, str] | None = None,
    name: str = "w",
    queue_names: list[str] | None = None,
) -> Proc:
    """A prefork worker consuming ``queue_names`` (default: both of the app's queues)."""
    log = tmp / f"celery-{name}.log"
    queue = ",".join(queue_names or queues())
    proc = Proc(
        [
            str(BIN / "celery"),
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        log,
        _env(env),
    )
    proc.wait_started(lambda: "ready." in log.read_text(errors="replace"), 30, "celery worker")
    return proc


def start_gunicorn(
    tmp: Path, *, workers: int = 2, threads: int = 16, env: dict[str, str] | None = None
) -> tuple[Proc, str]:
    port = free_port()
    log = tmp / "gunicorn.log"
    proc = Proc(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--no-control-socket",
            "--backlog",
            "2048",
            "--timeout",
            "60",
        ],
        log,
        _env(env),
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}/api/sales/", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    proc.wait_started(answers, 30, "gunicorn")
    return proc, base
