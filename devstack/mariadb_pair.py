"""A MariaDB primary and a GTID replica of it, for tests that need replication lag."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import MySQLdb

from ._cli import Foreground, StopRequested
from ._process import ServerError
from .mariadb_server import MariaDBServer
from .ports import HOST

APP_USER = APP_PASSWORD = "app"
_DB_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # Identifiers cannot be bound as parameters.


class MariaDBPair:
    """PRIMARY (server-id 1, binlog) replicating to REPLICA (server-id 2) over TCP.

    The users `app`/`app` (all privileges) and `repl`/`repl` exist on both from
    the pristine datadir. Data in `workdir` is reused if already there.
    """

    def __init__(self, workdir: Path, timeout: float = 30.0) -> None:
        self.workdir = Path(workdir).resolve()
        self.timeout = timeout
        self.primary = MariaDBServer(
            self.workdir / "primary",
            server_id=1,
            extra_args=["--log-bin=primary-bin", "--binlog-format=ROW"],
        )
        self.replica = MariaDBServer(
            self.workdir / "replica",
            server_id=2,
            extra_args=[
                "--log-bin=replica-bin",  # log-slave-updates needs a binlog to write to.
                "--log-slave-updates",
                "--relay-log=replica-relay-bin",  # Default name embeds the hostname.
                "--read-only=0",  # The default, spelled out: tests may seed the replica directly.
                "--skip-slave-start",  # A reused datadir remembers an old primary port: start() re-points it.
            ],
        )

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> MariaDBPair:
        """Boot both servers in parallel, then point the replica at the primary."""
        try:
            self.primary.launch()
            self.replica.launch()
            self.primary.wait_ready(self.timeout)
            self.replica.wait_ready(self.timeout)
            self._configure_replication()
        except BaseException:
            self.stop()
            raise
        return self

    def _configure_replication(self) -> None:
        self.replica.query("STOP SLAVE", timeout=self.timeout)  # CHANGE MASTER refuses a running slave.
        self.replica.query(
            "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER='repl', MASTER_PASSWORD='repl',"
            " MASTER_USE_GTID=slave_pos,"
            " MASTER_CONNECT_RETRY=1",  # Default 60 s: a restarted primary was re-found only after ~58 s.
            (HOST, self.primary.port),
            timeout=self.timeout,
        )
        self.replica.query("START SLAVE", timeout=self.timeout)
        self._wait_replica_threads(self.timeout)

    def stop(self) -> None:
        """Stop the replica first so it does not log reconnect attempts."""
        self.replica.stop(self.timeout)
        self.primary.stop(self.timeout)

    def __enter__(self) -> MariaDBPair:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------

    @property
    def primary_port(self) -> int:
        return self.primary.port

    @property
    def replica_port(self) -> int:
        return self.replica.port

    @property
    def primary_pid(self) -> int | None:
        return self.primary.pid

    @property
    def replica_pid(self) -> int | None:
        return self.replica.pid

    def url(self, db: str, replica: bool = False) -> str:
        port = self.replica_port if replica else self.primary_port
        return f"mysql://{APP_USER}:{APP_PASSWORD}@{HOST}:{port}/{db}"

    def connect(
        self, db: str | None = None, replica: bool = False, timeout: float = 10.0, **kwargs: Any
    ) -> MySQLdb.Connection:
        """Connection as `app` over TCP, like the application's."""
        seconds = max(1, math.ceil(timeout))  # The client library takes whole seconds.
        if db:
            kwargs["db"] = db
        return MySQLdb.connect(
            host=HOST,
            port=self.replica_port if replica else self.primary_port,
            user=APP_USER,
            password=APP_PASSWORD,
            connect_timeout=seconds,
            read_timeout=seconds,
            write_timeout=seconds,
            **kwargs,
        )

    # -- data ----------------------------------------------------------------

    def create_database(self, name: str) -> None:
        """CREATE DATABASE IF NOT EXISTS on the primary, then wait for the replica."""
        if not _DB_NAME.match(name):
            raise ValueError(f"unsafe database name {name!r}")
        self.primary.query(
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            timeout=self.timeout,
        )
        self.wait_for_replica()

    # -- replication control -------------------------------------------------

    def wait_for_replica(self, timeout: float = 10.0) -> None:
        """Block until the replica has applied everything the primary has binlogged.

        Raises TimeoutError if it has not after `timeout` seconds.
        """
        position = self.primary.query("SELECT @@gtid_binlog_pos AS pos", timeout=timeout)[0]["pos"]
        rows = self.replica.query(
            "SELECT MASTER_GTID_WAIT(%s, %s) AS outcome",
            (position, timeout),
            timeout=timeout + 5,  # The socket must outlive the server-side wait.
        )
        if rows[0]["outcome"] != 0:
            raise TimeoutError(f"replica did not reach GTID {position!r} within {timeout}s")

    def stop_replica_sql_thread(self) -> None:
        """Freeze the replica's data; it keeps receiving (not applying) events."""
        self.replica.query("STOP SLAVE SQL_THREAD", timeout=self.timeout)

    def start_replica_sql_thread(self) -> None:
        self.replica.query("START SLAVE SQL_THREAD", timeout=self.timeout)
        self._wait_replica_threads(self.timeout)

    def set_replica_delay(self, seconds: int) -> None:
        """Apply each event `seconds` after it was committed on the primary (0 = off)."""
        self.replica.query("STOP SLAVE", timeout=self.timeout)
        self.replica.query("CHANGE MASTER TO MASTER_DELAY=%s", (int(seconds),), timeout=self.timeout)
        self.replica.query("START SLAVE", timeout=self.timeout)
        self._wait_replica_threads(self.timeout)

    def replica_status(self) -> dict[str, Any]:
        """SHOW SLAVE STATUS as a dict ({} if replication is not configured)."""
        rows = self.replica.query("SHOW SLAVE STATUS", timeout=self.timeout)
        return rows[0] if rows else {}

    def _wait_replica_threads(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = self.replica_status()
            if status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes":
                return
            if time.monotonic() >= deadline:
                keys = ("Slave_IO_Running", "Slave_SQL_Running", "Last_IO_Error", "Last_SQL_Error")
                summary = {key: status.get(key) for key in keys}
                raise ServerError(f"replication threads not running after {timeout}s: {summary}")
            time.sleep(0.05)

    # -- primary faults --------------------------------------------------------

    def pause_primary(self) -> None:
        """SIGSTOP the primary: connections hang instead of failing."""
        self.primary.pause()

    def resume_primary(self) -> None:
        self.primary.resume()

    def kill_primary(self) -> None:
        """SIGKILL the primary; the replica retries every second."""
        self.primary.kill()

    def restart_primary(self) -> None:
        """Start the primary again on the same port and datadir (after kill or not)."""
        self.primary.restart(self.timeout)


def main(argv: list[str] | None = None) -> int:
    """Run a primary+replica pair with database `flashsale` until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m devstack.mariadb_pair", description=main.__doc__)
    parser.add_argument("--dir", type=Path, default=None, help="default: a temporary directory")
    parser.add_argument("--database", default="flashsale")
    args = parser.parse_args(argv)
    foreground = Foreground()  # Before anything starts: a SIGTERM is never fatal from here on.
    try:
        with contextlib.ExitStack() as stack:
            workdir = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devstack-mariadb-")))
            pair = stack.enter_context(MariaDBPair(workdir))
            pair.create_database(args.database)
            urls = [
                f"DATABASE_URL={pair.url(args.database)}",
                f"DATABASE_REPLICA_URL={pair.url(args.database, replica=True)}",
            ]
            return foreground.serve(urls, lambda: pair.primary.running and pair.replica.running)
    except StopRequested as stopped:  # Signalled while starting: what had started is stopped.
        return stopped.exit_code


if __name__ == "__main__":
    sys.exit(main())
