"""Count the SQL that many threads send, on both database aliases, without opening connections."""

from __future__ import annotations

import threading
from contextlib import ExitStack, contextmanager

from django.db import connections


def _connection_setup(sql: str) -> bool:
    """What Django sends once per new connection (the tests run with DB_CONN_MAX_AGE=0, so every
    thread opens one); a read's own queries are the rest."""
    sql = sql.strip()
    return sql.startswith("SELECT VERSION(),") or sql.startswith("SET SESSION TRANSACTION ISOLATION")


class QueryLog:
    """An execute wrapper (Django's ``connection.execute_wrapper``) shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if not _connection_setup(sql):
            with self._lock:
                self.sql.append(sql)
        return execute(sql, params, many, context)

    @contextmanager
    def counting(self):
        """In the calling thread: every query on the primary and the replica is logged."""
        with ExitStack() as stack:
            for alias in ("default", "replica"):
                stack.enter_context(connections[alias].execute_wrapper(self))
            yield self

    def __len__(self) -> int:
        return len(self.sql)


def run_at_once(n: int, call, log: QueryLog) -> list:
    """``call()`` in n threads released together; their results (queries logged in ``log``)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with log.counting():
                results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported as the thread's result
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results
