"""Celery tasks: each unpacks ids and calls one service, and is named ``<service>_task``."""

from __future__ import annotations

from celery import shared_task

from flashsale import selectors
from flashsale.captcha import captcha_purge_expired
from flashsale.queue import queue_advance


@shared_task(name="flashsale.captcha_purge_expired", ignore_result=True)
def captcha_purge_expired_task() -> int:
    """Beat, every CAPTCHA_PURGE_INTERVAL seconds (maintenance queue): expired challenges go."""
    return captcha_purge_expired()


@shared_task(name="flashsale.queue_advance", ignore_result=True)
def queue_advance_task() -> int:
    """Beat, every second: bring every open waiting room up to now, so admissions and lapses move
    even while nobody polls. Returns how many lines it moved."""
    sale_ids = selectors.sales_with_open_queue()
    for sale_id in sale_ids:
        queue_advance(sale_id=sale_id)
    return len(sale_ids)
