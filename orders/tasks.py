"""Celery tasks: each unpacks ids and calls one service, and is named ``<service>_task``.

The Celery names (``name=``) are the ones queued tasks and beat entries already carry: they stay
as they are across renames, so a deploy never strands a queued task.
"""

from __future__ import annotations

import logging

import redis
from celery import shared_task
from django.db import InterfaceError, OperationalError

from orders import selectors
from orders.lifecycle import orders_expire_due
from orders.services import reservations_drain

logger = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)


@shared_task(name="orders.persist_reservations", bind=True, acks_late=True)
def reservations_drain_task(self, sale_id: int) -> int:
    """Persist a sale's stream: woken after purchases (by name, from flashsale) and by the sweep."""
    try:
        result = reservations_drain(sale_id=int(sale_id))
    except TRANSIENT as exc:
        # Why retry with backoff: the DB or Redis is away for a moment; the entries stay pending
        # in the stream, so giving up after the bound loses nothing (the beat sweep comes back).
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 10), max_retries=8)
    if result.exhausted:
        reservations_drain_task.delay(sale_id)  # the time budget ran out with entries left
    return result.handled


@shared_task(name="orders.persist_sweep", ignore_result=True)
def reservations_sweep_task() -> int:
    """Beat, every FLASHSALE_SWEEP_INTERVAL seconds: wake the persister of every sale with entries
    in its stream (a lost wake-up costs at most this interval)."""
    sale_ids = selectors.sales_with_reservations_in_stream()
    for sale_id in sale_ids:
        reservations_drain_task.delay(sale_id)
    return len(sale_ids)


@shared_task(name="orders.expire_unpaid", ignore_result=True)
def orders_expire_due_task() -> int:
    """Beat, every ORDER_EXPIRY_INTERVAL seconds: cancel unpaid orders past their deadline, for at
    most ORDER_EXPIRY_MAX_SECONDS (routed to the maintenance queue, off the persister's)."""
    return orders_expire_due()
