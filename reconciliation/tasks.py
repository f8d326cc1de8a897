"""Celery tasks: each unpacks ids and calls one service."""

from celery import shared_task

from reconciliation.preheat import sales_preheat_due
from reconciliation.services import reconcile_all


@shared_task(name="reconciliation.reconcile_all", ignore_result=True)
def reconcile_all_task() -> int:
    """Beat, every RECONCILE_INTERVAL seconds: one recorded run per preheated sale."""
    return len(reconcile_all())


@shared_task(name="reconciliation.preheat_due", ignore_result=True)
def sales_preheat_due_task() -> int:
    """Beat, every PREHEAT_SWEEP_INTERVAL seconds: preheat the published sales about to start."""
    return len(sales_preheat_due())
