"""The processes the bench starts: the app server under test, Celery worker and beat, wrk.

Each runs in a process group of its own (so a stop reaches gunicorn's or Celery's children), with
an environment built from scratch by ``clean_env``: nothing of the caller's environment leaks in
except the few variables a process needs to run at all (a test session's DATABASE_URL must not).
"""

from __future__ import annotations

import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devstack import ProcessGroup, free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME", "TERM")


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


class Proc(ProcessGroup):
    """A bench process: its log is appended to, and it is SIGKILLed if the bench dies, even by SIGKILL."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str]):
        super().__init__(argv, log, env=env, cwd=ROOT, name=name, append=True, die_with_parent=True)


@dataclass(frozen=True)
class ServerSpec:
    """An app server configuration: 'gunicorn-sync:W', 'gunicorn-gthread:WxT' or 'granian:WxT'."""

    kind: str
    workers: int
    threads: int

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        kind, _, size = text.partition(":")
        if kind not in ("gunicorn-sync", "gunicorn-gthread", "granian"):
            raise ValueError(f"unknown server {kind!r} (gunicorn-sync, gunicorn-gthread, granian)")
        workers, _, threads = (size or "2").partition("x")
        return cls(kind, int(workers), int(threads or (1 if kind == "gunicorn-sync" else 4)))

    @property
    def label(self) -> str:
        return f"{self.kind} {self.workers}" + ("" if self.kind == "gunicorn-sync" else f"x{self.threads}")

    def argv(self, port: int) -> list[str]:
        bind = f"127.0.0.1:{port}"
        if self.kind == "granian":
            return [
                str(BIN / "granian"),
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
                "--blocking-threads",
                str(self.threads),
                "--backlog",
                "2048",
                "--no-ws",
                "--log-level",
                "warning",
                "config.wsgi:application",
            ]
        common = [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(self.workers),
            "--no-control-socket",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]
        if self.kind == "gunicorn-sync":
            return [*common, "--worker-class", "sync"]
        return [*common, "--worker-class", "gthread", "--threads", str(self.threads)]


def start_server(spec: ServerSpec, workdir: Path, env: dict[str, str]) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(spec.kind, spec.argv(port), workdir / f"{spec.kind}-{port}.log", env)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/bench/ping", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    proc.wait_started(answers, 40, spec.label)
    return proc, base


def start_worker(workdir: Path, env: dict[str, str], *, queue: str, concurrency: int, name: str) -> Proc:
    # --loglevel INFO as in the Procfile: production's per-task log lines are part of the cost.
    log = workdir / f"celery-{name}.log"
    proc = Proc(
        f"worker {name}",
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
        env,
    )
    proc.wait_started(lambda: "ready." in log.read_text(errors="replace"), 40, f"worker {name}")
    return proc


def start_beat(workdir: Path, env: dict[str, str]) -> Proc:
    log = workdir / "celery-beat.log"
    proc = Proc(
        "beat",
        [
            str(BIN / "celery"),
            "-A",
            "config.celery_app",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(workdir / "celerybeat-schedule"),
            "--pidfile",
            str(workdir / "celerybeat.pid"),
        ],
        log,
        env,
    )
    proc.wait_started(lambda: "beat: Starting" in log.read_text(errors="replace"), 30, "celery beat")
    return proc
