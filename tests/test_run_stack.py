"""`make run`'s stack, end to end: scripts/run.sh in embedded mode (SQLite, its own redis-server,
granian + two Celery workers + beat under honcho) on free ports in a temp VAR_DIR; wait for its
ready line, buy over HTTP, see the worker create the order, then stop it all as Ctrl-C would and
check nothing is left. And a process that dies at start: run.sh names it and exits non-zero.

HTTP only: no database fixture, and none of the test stack's services are used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devstack import free_port
from scripts.proc_table import cmdline, descendants, embedded_env, kill_all, still_running

ROOT = Path(__file__).resolve().parents[1]

START_TIMEOUT = 120  # Generous: other suites and browsers on the machine slow every start-up.
ORDER_TIMEOUT = 30
QUEUE_TIMEOUT = 30
STOP_TIMEOUT = 20


def run_env(var_dir: Path, port: int, **extra: str) -> dict[str, str]:
    # What the test session exports for its own stack, or a developer may have set, must not reach run.sh.
    return embedded_env(
        dict(os.environ),
        **{
            "VAR_DIR": str(var_dir),
            "PORT": str(port),
            "FLASHSALE_CAPTCHA_REQUIRED": "false",
            "DEMO_STOCK": "5",
            "DEMO_LIMIT": "1",
            "DEMO_USERS": "2",
            "WEB_WORKERS": "1",
            "WORKER_CONCURRENCY": "1",
            **extra,
        },
    )


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class RunningStack:
    proc: subprocess.Popen
    log: Path
    var_dir: Path
    base: str

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if "==> ready: " in self.tail(400):
                # Ready means every process is up: the web answers at once.
                assert requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
                return
            if self.proc.poll() is not None:
                pytest.fail(f"run.sh exited with {self.proc.returncode} before its ready line:\n{self.tail()}")
            time.sleep(0.3)  # Why: start-up takes seconds; look a few times a second.
        pytest.fail(f"no ready line within {START_TIMEOUT}s:\n{self.tail()}")


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator:
    """start(**env) runs scripts/run.sh with these extra variables; whatever is left is stopped at the end."""
    started: list[RunningStack] = []

    def start(**extra: str) -> RunningStack:
        port = free_port()
        var_dir = tmp_path / "var"
        log = tmp_path / "run.log"
        with open(log, "wb") as out:
            # A session (and process group) of its own, like a terminal job: the test signals the group.
            proc = subprocess.Popen(
                ["bash", "scripts/run.sh"],
                cwd=ROOT,
                env=run_env(var_dir, port, **extra),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(RunningStack(proc, log, var_dir, f"http://127.0.0.1:{port}"))
        return started[-1]

    yield start
    for stack in started:
        stop_leftovers(stack.proc)


@pytest.fixture
def run_stack(start_stack) -> RunningStack:
    return start_stack()


def stop_leftovers(proc: subprocess.Popen) -> None:
    """Only if a test failed half-way: stop whatever of this run is left, by pid."""
    leftovers = descendants(proc.pid)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(STOP_TIMEOUT)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    kill_all(leftovers)
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def api(
    stack: RunningStack, method: str, path: str, api_token: str, headers: dict | None = None, **kwargs
) -> requests.Response:
    headers = {"Authorization": f"Token {api_token}", **(headers or {})}
    return requests.request(method, f"{stack.base}{path}", headers=headers, timeout=10, **kwargs)


def line_up(stack: RunningStack, sale_id: int, api_token: str) -> dict:
    """Join the sale's line and poll, with the ticket and when the answer says, until it is our turn."""
    place = api(stack, "POST", f"/api/sales/{sale_id}/queue", api_token).json()
    deadline = time.monotonic() + QUEUE_TIMEOUT
    while place["state"] != "admitted":
        assert place["state"] in ("prequeue", "waiting"), place
        assert time.monotonic() < deadline, f"not admitted within {QUEUE_TIMEOUT}s: {place}"
        time.sleep(place["poll_after_ms"] / 1000)  # Why: the line says when to look again.
        ticket = {"X-Queue-Ticket": place["ticket"]}
        place = api(stack, "GET", f"/api/sales/{sale_id}/queue", api_token, headers=ticket).json()
    return place


@pytest.mark.slow
def test_make_run_stack_sells_through_http_and_stops_on_sigterm(run_stack: RunningStack) -> None:
    t0 = time.monotonic()
    run_stack.wait_until_ready()
    t_up = time.monotonic()
    demo = json.loads((run_stack.var_dir / "demo.json").read_text())  # Written before the processes start.
    sale_id, shopper = demo["sale_id"], demo["users"][0]["token"]
    # Everything of this run lives in its VAR_DIR, not in the checkout's var/.
    assert (run_stack.var_dir / "db.sqlite3").is_file()
    assert (run_stack.var_dir / "redis" / "appendonlydir").is_dir()

    # The demo sale has a line: no purchase token before the shopper's turn.
    response = api(run_stack, "POST", f"/api/sales/{sale_id}/token", shopper, json={})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "not_admitted"
    assert line_up(run_stack, sale_id, shopper)["position"] is not None  # a place in a line, not a sale without one
    response = api(run_stack, "POST", f"/api/sales/{sale_id}/token", shopper, json={})
    assert response.status_code == 200, response.text
    response = api(
        run_stack,
        "POST",
        f"/api/sales/{sale_id}/purchase",
        shopper,
        json={"token": response.json()["token"], "quantity": 1},
    )
    assert response.status_code == 202, response.text
    reservation_id = response.json()["reservation_id"]

    deadline = time.monotonic() + ORDER_TIMEOUT
    while True:  # The worker (kicked by the purchase, or by beat's sweep) persists the reservation.
        response = api(run_stack, "GET", f"/api/reservations/{reservation_id}", shopper)
        assert response.status_code == 200, response.text
        reservation = response.json()
        if reservation["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert reservation["status"] == "created", f"{reservation}\n{run_stack.tail()}"
    response = api(run_stack, "GET", f"/api/orders/{reservation['order_number']}/", shopper)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending_payment"
    t_order = time.monotonic()

    procs = descendants(run_stack.proc.pid)
    names = " ".join(cmdline(pid) for pid in procs)
    assert all(name in names for name in ("redis-server", "granian", "celery")), names

    started = time.monotonic()
    os.killpg(run_stack.proc.pid, signal.SIGTERM)  # Like Ctrl-C, which signals the terminal's whole job.
    try:
        run_stack.proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run.sh still running {STOP_TIMEOUT}s after SIGTERM:\n{run_stack.tail()}")
    while (left := still_running(procs)) and time.monotonic() - started < STOP_TIMEOUT:
        time.sleep(0.1)
    assert left == [], "left running after SIGTERM:\n" + "\n".join(left)
    # run.sh's EXIT trap ran: Redis stopped last and cleanly (not by its wrapper's parent-death SIGKILL).
    assert "stopping embedded redis" in run_stack.tail(), run_stack.tail()
    assert list(run_stack.var_dir.glob("celerybeat-schedule*")), "beat kept its schedule outside VAR_DIR"
    print(
        f"\n[run-stack] up {t_up - t0:.1f}s, order created {t_order - t_up:.1f}s, "
        f"stopped {time.monotonic() - started:.1f}s after SIGTERM"
    )


@pytest.mark.slow
def test_a_process_that_dies_at_start_is_named_and_run_exits_non_zero(start_stack) -> None:
    # Only the persister's worker reads WORKER_CONCURRENCY: celery refuses the value and exits at once.
    stack = start_stack(WORKER_CONCURRENCY="not-a-number")
    try:
        rc = stack.proc.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run.sh still running {START_TIMEOUT}s after a process died:\n{stack.tail()}")
    output = stack.tail(400)
    assert rc != 0, output
    assert "==> ready: " not in output, output
    assert "error: worker.1 stopped during start-up" in output, output
    assert "not-a-number" in output.split("error: worker.1 stopped during start-up", 1)[1], output  # its last lines
    assert "stopping embedded redis" in output, output
