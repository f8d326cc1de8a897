"""The Celery app. Every task reads the primary: a worker acts on what it just wrote."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("flashsale")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_pins = {}


@task_prerun.connect
def _pin_task_to_primary(task_id=None, **_):
    from config.db_router import pin
    from config.log_context import bind_request

    _pins[task_id] = pin()
    bind_request(task_id or "-")  # a task's log lines carry its id as their request id


@setup_logging.connect
def _django_logging(**_):
    # Why: connected, Celery leaves the root logger to us, so workers and beat log in the format
    # the web logs in (LOG_FORMAT), with the task id on each line.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_postrun.connect
def _unpin_task(task_id=None, **_):
    from config.db_router import unpin

    token = _pins.pop(task_id, None)
    if token is not None:
        unpin(token)


@worker_process_init.connect
def _fresh_connections_after_fork(**_):
    # Why: sockets inherited from the parent must not be shared by forked children.
    from django.db import connections

    from config.redis import reset_redis

    for conn in connections.all(initialized_only=True):
        conn.close()
    reset_redis()
