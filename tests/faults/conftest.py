"""Fixtures of the fault tests (tests/faults, marker ``faults``; ``make test-faults`` runs them)."""

from __future__ import annotations

import uuid

import pytest

from config.redis import reset_redis
from tests.faults.figures import FIGURES


@pytest.fixture(autouse=True)
def own_queue(monkeypatch, stack):
    """A Celery queue per test: retries a killed test's worker left behind never reach the next one.

    The app's processes inherit CELERY_QUEUE (worker ``-Q``, web kicks, beat; the maintenance
    queue is ``<queue>-maintenance``); both are deleted from the suite's broker afterwards.
    """
    queue = f"{stack.queue}-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("CELERY_QUEUE", queue)
    yield queue
    try:
        from kombu import Connection

        with Connection(stack.broker_url, connect_timeout=5) as conn:
            for name in (queue, f"{queue}-maintenance"):  # the maintenance queue derives from it
                conn.default_channel.queue_delete(name)
    except Exception:  # a queue that was never declared, or the broker is away: nothing to clean
        pass


@pytest.fixture
def app(tmp_path):
    """The app's processes for this test (gunicorn, Celery worker, beat), stopped at the end."""
    from tests.faults.kit import App  # imports models: only once Django is set up

    running = App(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def use_redis(settings):
    """Point this process (stock, stream, cache) at a Redis server of the test's own."""

    def point(server) -> None:
        settings.REDIS_URL = server.url
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
        reset_redis()

    yield point
    reset_redis()


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
