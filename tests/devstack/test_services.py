"""The devstack servers really start, replicate, lag on demand and survive crashes.

No Django here. Run: .venv/bin/python -m pytest -p no:django tests/devstack -q -s
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import MySQLdb
import pytest
import redis

from devstack import MariaDBPair, RedisServer, ServerError, free_port, rabbitmq_reachable

DB = "devstack_test"
REPO_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"\n[devstack] {label}: {time.perf_counter() - started:.3f}s")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBPair]:
    with timed("MariaDB pair start (cache as found)"):
        started = MariaDBPair(tmp_path_factory.mktemp("pair")).start()
    started.create_database(DB)
    yield started
    started.stop()


def execute(pair: MariaDBPair, sql: str, *args: object) -> None:
    conn = pair.connect(DB, autocommit=True)
    try:
        conn.cursor().execute(sql, args or None)
    finally:
        conn.close()


def ids_on_replica(pair: MariaDBPair, table: str) -> list[int]:
    conn = pair.connect(DB, replica=True)
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT id FROM {table} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()


def test_row_written_on_primary_is_read_on_replica(pair: MariaDBPair) -> None:
    execute(pair, "CREATE TABLE replicated (id INT PRIMARY KEY)")
    execute(pair, "INSERT INTO replicated VALUES (1)")

    pair.wait_for_replica()

    assert ids_on_replica(pair, "replicated") == [1]


def test_stopped_sql_thread_hides_new_rows_until_started(pair: MariaDBPair) -> None:
    execute(pair, "CREATE TABLE lagging (id INT PRIMARY KEY)")
    pair.wait_for_replica()
    pair.stop_replica_sql_thread()
    try:
        execute(pair, "INSERT INTO lagging VALUES (1)")
        with pytest.raises(TimeoutError):
            pair.wait_for_replica(timeout=0.5)
        assert ids_on_replica(pair, "lagging") == []
    finally:
        pair.start_replica_sql_thread()

    pair.wait_for_replica()
    assert ids_on_replica(pair, "lagging") == [1]


def test_replica_delay_holds_rows_back(pair: MariaDBPair) -> None:
    execute(pair, "CREATE TABLE held_back (id INT PRIMARY KEY)")
    pair.wait_for_replica()
    pair.set_replica_delay(1)
    try:
        execute(pair, "INSERT INTO held_back VALUES (1)")
        assert ids_on_replica(pair, "held_back") == []
        pair.wait_for_replica(timeout=5)
        assert ids_on_replica(pair, "held_back") == [1]
    finally:
        pair.set_replica_delay(0)


def test_killed_primary_restarts_on_same_port_and_replication_resumes(pair: MariaDBPair) -> None:
    execute(pair, "CREATE TABLE crashed (id INT PRIMARY KEY)")
    port, pid = pair.primary_port, pair.primary_pid

    pair.kill_primary()
    with timed("MariaDB primary restart after SIGKILL"):
        pair.restart_primary()
    execute(pair, "INSERT INTO crashed VALUES (1)")
    with timed("replica catch-up after primary restart"):
        pair.wait_for_replica()

    assert (pair.primary_port, pair.primary_pid != pid) == (port, True)
    assert ids_on_replica(pair, "crashed") == [1]


def test_paused_primary_times_out_then_resumes(pair: MariaDBPair) -> None:
    pair.pause_primary()
    try:
        with pytest.raises(MySQLdb.OperationalError):
            pair.connect(DB, timeout=1)
    finally:
        pair.resume_primary()

    pair.connect(DB).close()


def test_pair_starts_from_a_cold_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSTACK_CACHE_DIR", str(tmp_path / "cache"))
    cold, warm = MariaDBPair(tmp_path / "cold"), MariaDBPair(tmp_path / "warm")
    try:
        with timed("MariaDB pair start, cold cache (runs mariadb-install-db)"):
            cold.start()
        with timed("MariaDB pair start, warm cache"):
            warm.start()
        warm.create_database(DB)
        assert warm.url(DB, replica=True) == f"mysql://app:app@127.0.0.1:{warm.replica_port}/{DB}"
    finally:
        cold.stop()
        warm.stop()


def test_redis_aof_keeps_a_key_across_kill_and_restart(tmp_path) -> None:
    server = RedisServer(tmp_path / "redis")
    with timed("Redis start"):
        server.start()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        client.set("stock", 42)
        port, pid = server.port, server.pid

        server.kill()
        with timed("Redis restart after SIGKILL (AOF replay)"):
            server.restart()

        assert (server.port, server.pid != pid) == (port, True)
        assert client.get("stock") == b"42"
    finally:
        server.stop()


def test_redis_without_aof_loses_everything_on_kill(tmp_path) -> None:
    with RedisServer(tmp_path / "redis", appendonly=False) as server:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        client.set("stock", 42)
        server.kill()
        server.restart()
        assert client.get("stock") is None


def test_start_failure_reports_the_server_log(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = RedisServer(tmp_path / "redis", port=taken.getsockname()[1])
        with pytest.raises(ServerError, match="already in use"):
            server.start()


def test_rabbitmq_probe_says_no_for_a_closed_port() -> None:
    assert rabbitmq_reachable(f"amqp://guest:guest@127.0.0.1:{free_port()}//", timeout=1) is False


def read_lines(proc: subprocess.Popen, count: int, timeout: float) -> list[str]:
    """`count` stdout lines of a CLI, failing instead of hanging if they never come."""
    lines: list[str] = []

    def read() -> None:
        for _ in range(count):
            lines.append(proc.stdout.readline().strip())

    reader = threading.Thread(target=read, daemon=True)  # readline() itself has no timeout.
    reader.start()
    reader.join(timeout)
    assert len(lines) == count, f"CLI printed only {lines}"
    assert all(lines), f"CLI printed only {lines}"
    return lines


@pytest.mark.parametrize(
    ("module", "expected_prefixes"),
    [
        ("devstack.redis_server", ["REDIS_URL=redis://127.0.0.1:"]),
        ("devstack.mariadb_pair", ["DATABASE_URL=mysql://app:app@127.0.0.1:", "DATABASE_REPLICA_URL=mysql://app:app@"]),
    ],
)
def test_cli_prints_urls_and_exits_cleanly_on_sigterm(tmp_path, module: str, expected_prefixes: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", module, "--dir", str(tmp_path / "cli")]
    with subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            lines = read_lines(proc, len(expected_prefixes), timeout=30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            proc.kill()
    assert [line[: len(prefix)] for line, prefix in zip(lines, expected_prefixes)] == expected_prefixes
