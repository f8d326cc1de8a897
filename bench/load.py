"""wrk, driven by the Lua scripts in bench/wrk/, and its results.

Two ways to run: for a fixed duration (bare and naive endpoints), or until every wrk thread has
used its data (the purchase path, where each request needs a token of its own; the whole sale):
each thread then leaves a marker file and we end wrk with SIGINT, which still prints its summary.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import DIE_WITH_PARENT  # never leave a load generator behind, even if we are SIGKILLed

WRK_DIR = Path(__file__).resolve().parent / "wrk"
OUT_ROOT: Path | None = None  # where each run's wrk output goes (bench/run.py: the run's temp dir)


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return path


@dataclass
class LoadResult:
    name: str
    requests: int  # the responses that count (e.g. purchase answers, not the ping of a finished thread)
    seconds: float
    statuses: dict[str, int]
    latency_ms: dict[str, float]
    errors: dict[str, int]
    exhausted_threads: int
    threads: int
    connections: int
    extra: dict = field(default_factory=dict)
    out_dir: Path | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return self.latency_ms["p50"]

    @property
    def p99(self) -> float:
        return self.latency_ms["p99"]

    def status_text(self) -> str:
        return " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))

    def error_count(self) -> int:
        return sum(self.errors.values())


def run_wrk(
    name: str,
    base_url: str,
    script: str,
    *,
    threads: int,
    connections: int,
    duration: float,
    env: dict[str, str] | None = None,
    quota: bool = False,
    count_statuses: set[str] | None = None,
    timeout_s: int = 10,
) -> LoadResult:
    """Run wrk with bench/wrk/<script>. ``quota``: end when every thread has finished its data
    (``duration`` is then only the upper bound). ``count_statuses``: which statuses are the
    measured requests (default: all)."""
    out = Path(tempfile.mkdtemp(prefix=f"wrk-{name}-", dir=OUT_ROOT))
    argv = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, int(round(duration)))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(WRK_DIR / script),
        base_url,
    ]
    full_env = {"PATH": "/usr/bin:/bin", "BENCH_OUT": str(out), "BENCH_THREADS": str(threads), **(env or {})}
    with open(out / "wrk.log", "wb") as log:
        proc = subprocess.Popen(argv, env=full_env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=DIE_WITH_PARENT)
        try:
            if quota:
                _end_when_threads_done(proc, out, threads, duration)
            rc = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted: never leave a load generator running
                proc.kill()
                proc.wait()
    result_file = out / "result.json"
    if not result_file.exists():
        raise RuntimeError(f"wrk {name} failed (rc {rc}):\n{(out / 'wrk.log').read_text(errors='replace')[-2000:]}")
    raw = json.loads(result_file.read_text())
    statuses = {k: int(v) for k, v in raw["statuses"].items()}
    counted = sum(v for k, v in statuses.items() if count_statuses is None or k in count_statuses)
    return LoadResult(
        name=name,
        requests=counted,
        seconds=raw["duration_us"] / 1e6,
        statuses=statuses,
        latency_ms={k: float(v) / 1000 for k, v in raw["latency_us"].items()},
        errors={k: int(v) for k, v in raw["errors"].items() if int(v)},
        exhausted_threads=int(raw["exhausted_threads"]),
        threads=threads,
        connections=connections,
        extra={k: v for k, v in raw.items() if k not in ("statuses", "latency_us", "errors")},
        out_dir=out,
    )


def _end_when_threads_done(proc: subprocess.Popen, out: Path, threads: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if len(list(out.glob("done-*"))) >= threads:
            proc.send_signal(signal.SIGINT)  # wrk stops its threads and still reports
            return
        time.sleep(0.02)
