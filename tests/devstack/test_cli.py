"""The foreground loop of `python -m devstack.*`: a stop signal is never fatal, whenever it comes.

Each case runs in a subprocess: the handlers are process-wide and pytest must keep its own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )


def test_sigterm_right_after_the_urls_are_printed_stops_cleanly() -> None:
    # The exact moment of the old race: the reader of the URL signals before serve() loops.
    result = run("""
        import os, signal
        from devstack._cli import Foreground

        def urls():
            os.kill(os.getpid(), signal.SIGTERM)  # Delivered before the print below.
            yield "URL=x"

        foreground = Foreground()
        code = foreground.serve(urls(), lambda: True)
        print("returned", code)
        raise SystemExit(code)
    """)
    assert (result.returncode, result.stdout.split()) == (0, ["URL=x", "returned", "0"]), result.stderr


def test_sigterm_while_starting_aborts_start_up_with_exit_143() -> None:
    result = run("""
        import os, signal, time
        from devstack._cli import Foreground, StopRequested

        foreground = Foreground()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # "Starting": interrupted by the signal.
            print("not interrupted")
        except StopRequested as stopped:
            print("cleanup ran")
            raise SystemExit(stopped.exit_code)
    """)
    assert (result.returncode, result.stdout.strip()) == (128 + signal.SIGTERM, "cleanup ran"), result.stderr


def test_a_dead_server_ends_the_loop_with_exit_1() -> None:
    result = run("""
        from devstack._cli import Foreground
        raise SystemExit(Foreground().serve([], lambda: False))
    """)
    assert result.returncode == 1, result.stderr
