"""CI's first step: the README's first command, `make run`, from a fresh clone, used as a shopper would.

    python3 scripts/smoke_run.py [--ready-timeout S]

Starts `make run` in a session and process group of its own (a terminal job) on a free port with a
temporary VAR_DIR; waits for its ready line; buys one unit as the first demo shopper over HTTP,
the captcha answered from the captcha store (what a person reads off the image); waits until the
reservation is an order; stops everything with SIGINT (Ctrl-C) and checks that no process it
started is left running. The demo sale has a line (a waiting room), so the shopper lines up first
and polls with the ticket of each answer, when it says, until it is their turn.

Standard library only: before `make run`, nothing else is installed. Exit 0 on success, otherwise
1 with the end of make run's output (kept in the printed directory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

# Run as `python3 scripts/smoke_run.py`: this folder is on sys.path.
from proc_table import carrying, cmdline, descendants, embedded_env, kill_all, still_running

ROOT = Path(__file__).resolve().parents[1]

ORDER_TIMEOUT = 30
QUEUE_TIMEOUT = 30
STOP_TIMEOUT = 30


class SmokeFailed(Exception):
    pass


# --- make run ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MakeRun:
    def __init__(self, workdir: Path) -> None:
        self.var_dir = workdir / "var"
        self.log_path = workdir / "make-run.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.marker = f"VAR_DIR={self.var_dir}".encode()
        self.seen: dict[int, int] = {}
        self._printed = 0
        env = embedded_env(dict(os.environ))
        env.update({"PORT": str(self.port), "VAR_DIR": str(self.var_dir)})
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["make", "run"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def tail(self, count: int = 60) -> str:
        return "\n".join(self.lines()[-count:])

    def echo_progress(self) -> None:
        """Print the bootstrap's and run.sh's own lines as they come (not the processes' chatter)."""
        lines = self.lines()
        for line in lines[self._printed :]:
            if line.startswith(("==>", "error")):
                print(f"  | {line}", flush=True)
        self._printed = len(lines)

    def wait_for(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.echo_progress()
            if any(text in line for line in self.lines()):
                return time.monotonic()
            if self.proc.poll() is not None:
                raise SmokeFailed(f"make run exited with {self.proc.returncode} before {text!r}")
            self.note_processes()
            time.sleep(0.2)  # Why: the install and the start-up take a while; look a few times a second.
        raise SmokeFailed(f"no {text!r} from make run within {timeout:.0f} s")

    def note_processes(self) -> None:
        self.seen.update(descendants(self.proc.pid))

    def stop(self) -> float:
        """SIGINT to the job, as Ctrl-C in its terminal; return how long it took until nothing was left."""
        self.note_processes()
        started = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise SmokeFailed(f"make run still running {STOP_TIMEOUT} s after SIGINT") from None
        while left := still_running({**self.seen, **carrying(self.marker)}):
            if time.monotonic() - started > STOP_TIMEOUT:
                raise SmokeFailed("left running after SIGINT:\n" + "\n".join(left))
            time.sleep(0.1)  # Why: processes adopted by init may take a moment to finish their shutdown.
        if not any("stopping embedded redis" in line for line in self.lines()):
            raise SmokeFailed("run.sh did not stop its Redis itself (its EXIT trap did not run)")
        return time.monotonic() - started

    def kill(self) -> None:
        """After a failure: stop whatever of this run is left, by pid."""
        self.note_processes()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        kill_all({**self.seen, **carrying(self.marker)})


# --- the shopper ---------------------------------------------------------------------------------


def call(
    run: MakeRun, method: str, path: str, api_token: str, body: dict | None = None, headers: dict | None = None
) -> tuple[int, dict]:
    request = urllib.request.Request(
        run.base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {api_token}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def expect(status: int, body: dict, wanted: int, what: str) -> dict:
    if status != wanted:
        raise SmokeFailed(f"{what}: HTTP {status} {body}")
    return body


def captcha_answer(run: MakeRun, key: str) -> str:
    """The answer to challenge `key`, read from the captcha store with the project's own Python."""
    code = (
        "import os; from captcha.models import CaptchaStore; "
        "print(CaptchaStore.objects.get(hashkey=os.environ['CAPTCHA_KEY']).response)"
    )
    env = {**os.environ, "VAR_DIR": str(run.var_dir), "DEBUG": "true", "CAPTCHA_KEY": key}
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise SmokeFailed(f"reading the captcha store failed:\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def line_up(run: MakeRun, sale: int, shopper: str) -> float:
    """Join the sale's line and poll until it is the shopper's turn; return how long the wait was."""
    started = time.monotonic()
    deadline = started + QUEUE_TIMEOUT
    place = expect(*call(run, "POST", f"/api/sales/{sale}/queue", shopper, {}), 200, "joining the line")
    while place["state"] != "admitted":
        if place["state"] not in ("prequeue", "waiting") or time.monotonic() > deadline:
            raise SmokeFailed(f"not admitted within {QUEUE_TIMEOUT} s: {place}")
        # Why: the line says when to look again (asking sooner only costs it); the deadline bounds the wait.
        time.sleep(max(0.0, min(place["poll_after_ms"] / 1000, deadline - time.monotonic())))
        ticket = {"X-Queue-Ticket": place["ticket"]}
        place = expect(*call(run, "GET", f"/api/sales/{sale}/queue", shopper, headers=ticket), 200, "the line")
    return time.monotonic() - started


def buy_one(run: MakeRun) -> tuple[int, float]:
    """Buy one unit as the first demo shopper; return the order id and how long it took to exist."""
    demo = json.loads((run.var_dir / "demo.json").read_text())
    sale, shopper = demo["sale_id"], demo["users"][0]["token"]
    waited = line_up(run, sale, shopper)
    print(f"smoke: lined up, admitted after {waited:.1f} s", flush=True)
    captcha = expect(*call(run, "GET", "/api/captcha", shopper), 200, "captcha")
    answer = {"captcha_key": captcha["key"], "captcha_answer": captcha_answer(run, captcha["key"])}
    token = expect(*call(run, "POST", f"/api/sales/{sale}/token", shopper, answer), 200, "purchase token")["token"]
    started = time.monotonic()
    reservation = expect(
        *call(run, "POST", f"/api/sales/{sale}/purchase", shopper, {"token": token, "quantity": 1}), 202, "purchase"
    )["reservation_id"]
    deadline = started + ORDER_TIMEOUT
    while True:  # Why: the persister (woken by the purchase, or by beat's sweep) turns it into an order.
        status = expect(*call(run, "GET", f"/api/reservations/{reservation}", shopper), 200, "reservation")
        if status["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if status["status"] != "created":
        raise SmokeFailed(f"reservation {reservation} is {status} after {ORDER_TIMEOUT} s")
    order = expect(*call(run, "GET", f"/api/orders/{status['order_number']}/", shopper), 200, "order")
    if order["status"] != "pending_payment":
        raise SmokeFailed(f"order {order}")
    return status["order_number"], time.monotonic() - started


def check_processes(run: MakeRun) -> None:
    names = " ".join(cmdline(pid) for pid in run.seen)
    missing = [name for name in ("honcho", "redis-server", "granian", "celery") if name not in names]
    if missing:
        raise SmokeFailed(f"not among make run's processes: {', '.join(missing)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=900.0,
        help="seconds until the ready line, the virtualenv install included",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="smoke-run-"))
    t0 = time.monotonic()
    run = MakeRun(workdir)
    print(f"smoke: make run on port {run.port}, VAR_DIR {run.var_dir}", flush=True)
    try:
        t_started = run.wait_for("==> embedded mode", args.ready_timeout)  # run.sh's first line: the install is done
        t_ready = run.wait_for("==> ready:", args.ready_timeout)
        run.note_processes()
        check_processes(run)
        order_number, order_seconds = buy_one(run)
        stop_seconds = run.stop()
    except (SmokeFailed, OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
        print(
            f"\nsmoke FAILED: {type(error).__name__}: {error}\n--- the end of make run's output "
            f"({run.log_path}) ---\n{run.tail()}",
            file=sys.stderr,
        )
        run.kill()
        return 1
    print(
        f"smoke: ok in {time.monotonic() - t0:.1f} s: install {t_started - t0:.1f} s, "
        f"start to ready {t_ready - t_started:.1f} s, order {order_number} created {order_seconds:.1f} s after "
        f"the purchase, stopped {stop_seconds:.1f} s after SIGINT with nothing left running",
        flush=True,
    )
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
