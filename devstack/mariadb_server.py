"""One throwaway mariadbd: own datadir, unix socket and error log in a workdir."""

from __future__ import annotations

import hashlib
import math
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import MySQLdb
import MySQLdb.cursors

from . import _process
from ._server import OwnedServer
from .mariadb_datadir import MARIADBD, ON_DISK_ARGS, copy_pristine_datadir, run_as_args
from .ports import HOST, free_port

# Transaction isolation is left at MariaDB's default, REPEATABLE-READ, as in production.
COMMON_ARGS = [
    "--skip-name-resolve",  # No DNS lookup per connection.
    "--innodb-buffer-pool-size=64M",
    "--innodb-flush-log-at-trx-commit=2",  # Throwaway data: no fsync per commit.
    "--innodb-temp-data-file-path=ibtmp1:1M:autoextend",  # Default 12M is written out at each start.
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--max-connections=500",
]


def _socket_path(workdir: Path) -> Path:
    path = workdir / "mysqld.sock"
    if len(str(path)) < 100:
        return path
    # AF_UNIX paths are limited to 107 bytes: deep workdirs get a short stand-in.
    digest = hashlib.sha256(str(workdir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"devstack-{digest}.sock"


class MariaDBServer(OwnedServer):
    """mariadbd on 127.0.0.1; root logs in without password over the unix socket.

    stop() is a clean shutdown; after kill() (a crash) InnoDB recovers at the next start.
    """

    default_timeout = 30.0

    def __init__(self, workdir: Path, server_id: int, port: int | None = None, extra_args: Sequence[str] = ()) -> None:
        self.workdir = Path(workdir).resolve()
        self.datadir = self.workdir / "data"
        self.socket = _socket_path(self.workdir)
        self.log_path = self.workdir / "error.log"
        self.server_id = server_id
        self.extra_args = list(extra_args)
        self._pidfile = self.workdir / "mariadbd.pid"
        self._port_pinned = bool(port)  # Unpinned ports may move on a bind clash at first start.
        self.port = port or free_port()

    @property
    def name(self) -> str:
        return f"mariadbd server-id={self.server_id} :{self.port}"

    def _argv(self) -> list[str]:
        return [
            MARIADBD,
            "--no-defaults",  # Must come first; ignore the system my.cnf (port 3306, /var/lib/mysql).
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--bind-address={HOST}",
            f"--pid-file={self._pidfile}",
            f"--log-error={self.log_path}",
            f"--server-id={self.server_id}",
            *run_as_args(),
            *ON_DISK_ARGS,
            *COMMON_ARGS,
            *self.extra_args,
        ]

    def launch(self) -> None:
        """Spawn without waiting (so two servers can boot in parallel); see wait_ready()."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.datadir.exists():
            copy_pristine_datadir(self.datadir)
        _process.reap_stale(self._pidfile, self.datadir)  # mariadbd chdirs into its datadir.
        # Early errors (bad option) go to stderr: send it to the same log.
        self._proc = _process.spawn(self._argv(), self.log_path, cwd=self.workdir)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until root can log in; relaunch on a fresh port if ours was taken."""
        attempts_left = 1 if self._port_pinned else 3
        while True:
            try:
                _process.wait_ready(self._proc, self._answers, self._timeout(timeout), self.name, self.log_path)
            except _process.ServerError as exc:
                self._proc = None
                attempts_left -= 1
                if attempts_left and _process.port_clash(exc):
                    self.port = free_port()
                    self.launch()
                    continue
                raise
            self._port_pinned = True  # From now on restarts keep the port.
            return

    def start(self, timeout: float | None = None) -> MariaDBServer:
        self.launch()
        self.wait_ready(timeout)
        return self

    def _answers(self) -> bool:
        try:
            self.connect(timeout=1).close()
        except MySQLdb.OperationalError:
            return False
        return True

    def pause(self) -> None:
        """SIGSTOP: the server holds its connections but answers nothing."""
        if self.running:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            self._proc.send_signal(signal.SIGCONT)

    def connect(self, db: str | None = None, timeout: float = 10.0, **kwargs: Any) -> MySQLdb.Connection:
        """Root connection over the unix socket, autocommit on; each network step bounded by `timeout`."""
        seconds = max(1, math.ceil(timeout))  # The client library takes whole seconds.
        if db:
            kwargs["db"] = db
        return MySQLdb.connect(
            unix_socket=str(self.socket),
            user="root",
            autocommit=True,
            connect_timeout=seconds,
            read_timeout=seconds,
            write_timeout=seconds,
            **kwargs,
        )

    def query(self, sql: str, args: Sequence[Any] | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Run one statement as root and return its rows as dicts."""
        conn = self.connect(timeout=timeout, cursorclass=MySQLdb.cursors.DictCursor)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        finally:
            conn.close()
