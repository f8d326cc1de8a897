"""Tell when `make run`'s stack is up, or why it is not (started by scripts/run.sh beside honcho).

    python scripts/wait_ready.py --log VAR_DIR/run.log --pid HONCHO_PID --url URL [--timeout S]

Up means every Procfile process is: the web answers /healthz with 200, each Celery worker
answers a ping under its node name (`-n` in the Procfile), and beat has written its schedule
file since this script started. Then it prints the ready line and exits 0.

If a process stops first (honcho logs "<name> stopped (rc=N)", then stops the others), it
prints which one and the last lines of its output, and exits 1. If the stack is not up by
--timeout, it prints what is missing, asks honcho to stop everything, and exits 1.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import healthcheck  # scripts/healthcheck.py: the container's /healthz check

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # config.celery_app, for the worker pings

# honcho's lines: "12:00:01 web.1         | text"; its own: "12:00:04 system        | web.1 stopped (rc=1)".
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+)\s*\| ?(.*)$")
STOPPED = re.compile(r"^(\S+) stopped \(rc=(-?\d+)\)$")
TAIL_LINES = 20


class Probe:
    """Whether one Procfile process is up; `up` stays true once it has answered."""

    def __init__(self, check) -> None:
        self.check, self.up, self.last_error = check, False, ""

    def run(self) -> None:
        try:
            self.up = bool(self.check())
        except Exception as exc:  # noqa: BLE001 - any failure means "not up yet"
            self.last_error = f"{type(exc).__name__}: {exc}"


class WorkerPings:
    """The Celery workers to ping; one broadcast ping asks every worker still missing."""

    def __init__(self) -> None:
        self.missing: set[str] = set()
        self.answered: set[str] = set()
        self.last_error = ""

    def add(self, argv: list[str]) -> str:
        from celery.utils.nodenames import default_nodename, host_format

        node = host_format(default_nodename(option(argv, "-n", "--hostname")))  # As `celery worker` expands -n.
        self.missing.add(node)
        return node

    def poll(self) -> None:
        if not self.missing:
            return
        try:
            from config.celery_app import app

            for reply in app.control.ping(destination=sorted(self.missing), timeout=1.0):
                self.answered.update(reply)
        except Exception as exc:  # noqa: BLE001 - any failure means "not up yet"
            self.last_error = f"{type(exc).__name__}: {exc}"
        self.missing -= self.answered

    def answered_by(self, node: str) -> bool:
        if node not in self.answered and self.last_error:
            raise RuntimeError(self.last_error)
        return node in self.answered


def procfile_processes(path: Path) -> dict[str, list[str]]:
    """name -> argv (without a leading `exec`) of each Procfile line."""
    processes = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            argv = shlex.split(command)
            processes[name.strip()] = argv[1:] if argv[:1] == ["exec"] else argv
    return processes


def option(argv: list[str], *names: str) -> str | None:
    for arg, value in zip(argv, argv[1:]):
        if arg in names:
            return value
    return None


def beat_wrote_since(started: float):
    schedule = os.path.join(os.environ.get("VAR_DIR", "var"), "celerybeat-schedule")  # As in the Procfile.
    # Why "since we started": a schedule file left by an earlier run in the same VAR_DIR proves nothing.
    return lambda: any(os.path.getmtime(f) >= started for f in glob.glob(schedule + "*"))


def probes_for(processes: dict[str, list[str]], pings: WorkerPings, started: float) -> dict[str, Probe]:
    probes = {}
    for name, argv in processes.items():
        program = Path(argv[0]).name if argv else ""
        if program == "celery" and "worker" in argv:
            node = pings.add(argv)
            probes[name] = Probe(lambda node=node: pings.answered_by(node))
        elif program == "celery" and "beat" in argv:
            probes[name] = Probe(beat_wrote_since(started))
        elif name == "web":
            probes[name] = Probe(healthcheck.check_web)
        else:
            sys.exit(f"error: scripts/wait_ready.py cannot tell when Procfile process {name!r} is up")
    return probes


def read_log(path: Path) -> list[tuple[str, str]]:
    """(source, text) of each line honcho wrote: source is a process (web.1) or "system"."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    return [m.groups() for m in map(LOG_LINE.match, text.splitlines()) if m]


def first_stopped(log: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(process, rc) of the first process that stopped: the one the others were stopped for."""
    for source, text in log:
        if source == "system" and (m := STOPPED.match(text)):
            return m.group(1), m.group(2)
    return None


def print_tail(log: list[tuple[str, str]], process: str) -> None:
    lines = [text for source, text in log if source == process][-TAIL_LINES:]
    print(f"--- the last {len(lines)} lines of {process} ---", file=sys.stderr)
    for text in lines:
        print(f"  {text}", file=sys.stderr)


def honcho_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def report_stopped(log_path: Path) -> int:
    for _ in range(10):  # Why: honcho logs "stopped" before it exits, but tee may still be writing it.
        log = read_log(log_path)
        if stopped := first_stopped(log):
            process, rc = stopped
            print(
                f"\nerror: {process} stopped during start-up (rc={rc}), so honcho stopped the others.", file=sys.stderr
            )
            print_tail(log, process)
            return 1
        time.sleep(0.2)
    print(f"\nerror: honcho exited before the stack was up (its output: {log_path})", file=sys.stderr)
    return 1


def report_timeout(probes: dict[str, Probe], log_path: Path, honcho_pid: int, timeout: float) -> int:
    waiting = [name for name, probe in probes.items() if not probe.up]
    print(f"\nerror: not up after {timeout:.0f} s: {', '.join(waiting)}; stopping the stack.", file=sys.stderr)
    log = read_log(log_path)
    for name in waiting:
        if probes[name].last_error:
            print(f"{name}: {probes[name].last_error}", file=sys.stderr)
        print_tail(log, f"{name}.1")  # honcho calls the one instance of each process <name>.1
    os.kill(honcho_pid, signal.SIGTERM)  # honcho stops every process, then run.sh stops Redis
    return 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=ROOT / "Procfile")
    parser.add_argument("--log", type=Path, required=True, help="honcho's output, teed by run.sh")
    parser.add_argument("--pid", type=int, required=True, help="honcho's pid")
    parser.add_argument("--url", required=True, help="the web's base URL, for the ready line")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)

    # The pings import the settings: leave their start-up warnings to the processes' own output.
    logging.basicConfig(level=logging.ERROR)
    # healthcheck.check_web reads PORT, as in the container; run.sh has the web's port in WEB_PORT.
    os.environ["PORT"] = os.environ.get("WEB_PORT", "8000")
    started = time.time()
    pings = WorkerPings()
    probes = probes_for(procfile_processes(args.procfile), pings, started)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if not honcho_alive(args.pid) or first_stopped(read_log(args.log)):
            return report_stopped(args.log)
        pings.poll()
        for probe in probes.values():
            if not probe.up:
                probe.run()
        if all(probe.up for probe in probes.values()):
            print(
                f"\n==> ready: {args.url} ({', '.join(probes)} up in {time.time() - started:.1f} s)\n", file=sys.stderr
            )
            return 0
        time.sleep(0.3)  # Why: poll gently; the processes take seconds to boot on a busy machine.
    return report_timeout(probes, args.log, args.pid, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
