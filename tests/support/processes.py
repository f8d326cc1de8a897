"""The app's own processes, started for a test: gunicorn and a Celery worker, on the test stack."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from devstack import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


class Proc:
    def __init__(self, argv: list[str], log: Path, env: dict[str, str]):
        self.log = log
        self._fh = open(log, "wb")
        # A process group of its own, so a SIGKILL reaches gunicorn's or Celery's children too.
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(5)
        self._fh.close()

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        self.popen.wait(10)

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def start_worker(tmp: Path, *, concurrency: int = 2, env: dict[str, str] | None = None, name: str = "w") -> Proc:
    log = tmp / f"celery-{name}.log"
    queue = os.environ["CELERY_QUEUE"]
    proc = Proc([str(BIN / "celery"), "-A", "config.celery_app", "worker", "-Q", queue, "-n", f"{name}-{os.getpid()}@%h",
                 "--concurrency", str(concurrency), "--pool", "prefork", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "--loglevel", "INFO"], log, _env(env))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "ready." in log.read_text(errors="replace"):
            return proc
        if not proc.alive():
            break
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"celery worker did not start:\n{proc.tail()}")


def start_gunicorn(tmp: Path, *, workers: int = 2, threads: int = 16, env: dict[str, str] | None = None) -> tuple[Proc, str]:
    port = free_port()
    log = tmp / "gunicorn.log"
    proc = Proc([str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                 "--threads", str(threads), "--worker-class", "gthread", "--no-control-socket", "--backlog", "2048",
                 "--timeout", "60"], log, _env(env))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/api/sales/", timeout=1).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        if not proc.alive():
            break
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"gunicorn did not start:\n{proc.tail()}")
