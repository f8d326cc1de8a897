"""Celery tasks: each unpacks ids and calls one service, and is named ``<service>_task``."""

from __future__ import annotations

from celery import shared_task

from flashsale.captcha import captcha_purge_expired


@shared_task(name="flashsale.captcha_purge_expired", ignore_result=True)
def captcha_purge_expired_task() -> int:
    """Beat, every CAPTCHA_PURGE_INTERVAL seconds (maintenance queue): expired challenges go."""
    return captcha_purge_expired()
