"""Celery's guard rails: task time limits, beat ticks that expire instead of piling up behind a
worker outage, and cancelling running tasks when the broker connection drops."""

from __future__ import annotations

import time
import uuid

import pytest
from celery.beat import ScheduleEntry, Scheduler
from django.conf import settings
from kombu import Exchange, Queue

from config.celery_app import app
from tests.helpers import real_db
from tests.support.processes import start_worker

pytestmark = real_db


def test_every_beat_entry_expires_within_its_own_interval():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert 0 < entry["options"]["expires"] <= entry["schedule"], name


def test_tasks_have_a_soft_and_a_hard_time_limit():
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_running_tasks_are_cancelled_when_the_broker_connection_is_lost():
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is True


def _publish_as_beat(name: str, queue: str):
    """Send one tick of a beat entry exactly as beat sends it (its options, expiry included), to a
    queue of this test's own (the session's queues may hold other tests' leftover tasks)."""
    conf = settings.CELERY_BEAT_SCHEDULE[name]
    entry = ScheduleEntry(name=name, app=app, **{**conf, "options": {**conf["options"], "queue": queue}})
    return Scheduler(app, lazy=True).apply_async(entry)


@pytest.fixture
def own_queue():
    """A queue of this test's own, declared as Celery declares one (the worker is not up yet)."""
    name = f"beat-expiry-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name), routing_key=name)
    with app.connection_for_write() as conn:
        queue(conn.default_channel).declare()
    yield name
    with app.connection_for_write() as conn:
        queue(conn.default_channel).delete()


def test_a_tick_published_during_a_worker_outage_is_dropped_once_its_interval_passed(tmp_path, own_queue):
    queue = own_queue
    stale = _publish_as_beat("queue-advance", queue)  # no worker is running: the tick waits in the queue
    time.sleep(settings.CELERY_BEAT_SCHEDULE["queue-advance"]["options"]["expires"] + 0.5)
    worker = start_worker(tmp_path, concurrency=1, name="beat-expiry", queue_names=[queue])
    fresh = _publish_as_beat("queue-advance", queue)  # the first tick once the worker is back
    try:
        deadline = time.monotonic() + 60
        while f"[{fresh.id}] succeeded" not in worker.log.read_text(errors="replace"):
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.1)
    finally:
        worker.stop()
    # RabbitMQ drops the expired message itself (its per-message TTL); a Redis broker hands it over
    # and the worker discards it as revoked. Either way it never runs.
    assert f"[{stale.id}] succeeded" not in worker.log.read_text(errors="replace")
