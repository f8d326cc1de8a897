"""`bench/run.py --quick` still runs end to end, and its invariants hold (never a timing assertion).

The bench starts its own stack, so it runs as a subprocess with an environment built here from
scratch: the test session's DATABASE_URL, REDIS_URL, CELERY_* and DJANGO_SETTINGS_MODULE must not
reach it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FINAL_LINE = re.compile(
    r"^purchase_rps=(?P<purchase_rps>[\d.]+) purchase_p99_ms=(?P<purchase_p99_ms>[\d.]+) bare_rps=(?P<bare_rps>[\d.]+)"
    r" naive_rps=(?P<naive_rps>[\d.]+) vs_naive=(?P<vs_naive>[\d.]+) vs_bare=(?P<vs_bare>[\d.]+)"
    r" persist_orders_per_s=(?P<persist>[\d.]+) oversell=(?P<oversell>\d+) lost=(?P<lost>\d+)"
    r" duplicates=(?P<duplicates>\d+) queue_join_rps=(?P<queue_join_rps>[\d.]+)"
    r" queue_poll_rps=(?P<queue_poll_rps>[\d.]+) queue_join_vs_purchase=(?P<join_ratio>[\d.]+)"
    r" queue_poll_vs_purchase=(?P<poll_ratio>[\d.]+) order_read_rps=(?P<order_read_rps>[\d.]+)"
    r" order_read_p99_ms=(?P<order_read_p99>[\d.]+) sale_read_rps=(?P<sale_read_rps>[\d.]+)"
    r" sale_read_p99_ms=(?P<sale_read_p99>[\d.]+) order_read_vs_purchase=(?P<order_ratio>[\d.]+)$"
)
KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")


def _bench_env() -> dict[str, str]:
    return {k: os.environ[k] for k in KEEP if k in os.environ}


@pytest.mark.slow
def test_quick_bench_runs_and_keeps_every_invariant(tmp_path):
    if shutil.which("wrk") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("wrk is not installed (apt-get install wrk): required under CI=true")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    proc = subprocess.run(
        # --compare-buckets: the split sale's purchase path runs (and is checked) here too.
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--compare-buckets",
            "4",
            "--chart",
            str(tmp_path / "sale.png"),
        ],
        cwd=ROOT,
        env=_bench_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert lines, output[-4000:]
    match = FINAL_LINE.match(lines[-1])
    assert match, f"last line is not the machine-readable summary:\n{output[-4000:]}"
    assert (match["oversell"], match["lost"], match["duplicates"]) == ("0", "0", "0"), output[-4000:]
    assert proc.returncode == 0, output[-4000:]
    assert float(match["purchase_rps"]) > 0
    assert float(match["persist"]) > 0
    assert float(match["queue_join_rps"]) > 0
    assert float(match["queue_poll_rps"]) > 0
    assert float(match["order_read_rps"]) > 0
    assert float(match["sale_read_rps"]) > 0
    assert (tmp_path / "sale.png").stat().st_size > 0
    assert "one hot sale, 1 bucket:" in proc.stdout, output[-4000:]


CLUSTER_LINE = re.compile(
    r"^single_redis_rps=(?P<single>[\d.]+) single_redis_p99_ms=[\d.]+ cluster_rps=(?P<cluster>[\d.]+)"
    r" cluster_p99_ms=[\d.]+ cluster_vs_single=[\d.]+$"
)


@pytest.mark.slow
def test_the_redis_cluster_comparison_runs_and_keeps_every_invariant():
    if shutil.which("wrk") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("wrk is not installed (apt-get install wrk): required under CI=true")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--redis-cluster", "--quick", "--purchases", "500"],
        cwd=ROOT,
        env=_bench_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert lines, output[-4000:]
    match = CLUSTER_LINE.match(lines[-1])
    assert match, f"last line is not the machine-readable summary:\n{output[-4000:]}"
    assert proc.returncode == 0, output[-4000:]  # every sale of both Redis kinds kept its invariants
    assert float(match["cluster"]) > 0


def test_the_lua_ceiling_script_runs_and_sells_exactly_its_stock():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lua_ceiling.py"), "--purchases", "2000"],
        cwd=ROOT,
        env=_bench_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert proc.stdout.strip().splitlines()[-1].endswith("ok=True"), output[-4000:]
