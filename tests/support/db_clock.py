"""Move the database clock of this thread's connection: MariaDB's session ``timestamp``.

Expiry compares with the DB's NOW(), so time travel has to happen there, not in Python.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections


@contextmanager
def db_clock_shifted(seconds: float, alias: str = "default"):
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SET @@session.timestamp = UNIX_TIMESTAMP(NOW(6)) + %s", [seconds])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET @@session.timestamp = DEFAULT")
