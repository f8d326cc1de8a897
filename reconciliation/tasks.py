"""Celery tasks: each unpacks ids and calls one service."""

from celery import shared_task

from reconciliation.services import reconcile_all


@shared_task(name="reconciliation.reconcile_all", ignore_result=True)
def reconcile_all_task() -> int:
    """Beat, every RECONCILE_INTERVAL seconds: one recorded run per preheated sale."""
    return len(reconcile_all())
