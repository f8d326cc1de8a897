"""Expiry and reconciliation run on a queue of their own, in time-boxed runs: they never hold up the persister.

Found by the bench: with 100k unpaid orders due, ``orders.expire_unpaid`` (on the persister's queue,
one transaction per order) held both pool processes for over ten minutes and nothing was persisted.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.services import reservations_drain
from orders.tasks import orders_expire_due_task, reservations_drain_task
from reconciliation.models import ReconciliationRun
from reconciliation.tasks import reconcile_all_task
from tests.factories import live_sale, users
from tests.helpers import assert_invariants, buy, client_for, real_db, redis_stock
from tests.support.processes import queues, start_worker

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _overdue_orders(sale, n: int, prefix: str) -> None:
    """n orders awaiting payment whose deadline passed an hour ago."""
    _buy(sale, n, prefix)
    reservations_drain(sale_id=sale.pk)
    Order.objects.using("default").filter(sale=sale).update(expires_at=timezone.now() - timedelta(hours=1))


def _buy(sale, n: int, prefix: str) -> None:
    for user in users(n, prefix=prefix):
        assert buy(client_for(user), sale.pk).status_code == 202


def _wait(predicate, timeout: float, what: str, proc) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{proc.tail()}"
        time.sleep(0.1)


def _statuses(sale) -> dict[str, int]:
    orders = Order.objects.using("default").filter(sale=sale)
    return {s: orders.filter(status=s).count() for s in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED)}


@pytest.mark.slow
def test_expiry_and_reconciliation_wait_for_the_maintenance_worker_while_the_persister_goes_on(tmp_path, settings):
    persister_queue, maintenance_queue = queues()
    assert settings.MAINTENANCE_QUEUE == maintenance_queue != persister_queue
    sale = live_sale(quantity=50, limit=1)
    _overdue_orders(sale, 10, "due")
    orders_expire_due_task.delay()  # what beat sends
    reconcile_all_task.delay()
    _buy(sale, 5, "new")
    last = reservations_drain_task.delay(sale.pk)  # published after the two beat tasks

    persister = start_worker(tmp_path, concurrency=1, name="persister", queue_names=[persister_queue])
    try:
        # One process takes its queue in order: once this task is done, so is everything before it,
        # and the beat tasks would have been among it had they been routed here.
        _wait(
            lambda: f"[{last.id}] succeeded" in persister.log.read_text(errors="replace"),
            30,
            "the persist task",
            persister,
        )
    finally:
        persister.stop()
    assert _statuses(sale) == {OrderStatus.PENDING_PAYMENT: 15, OrderStatus.CANCELLED: 0}
    assert not ReconciliationRun.objects.using("default").filter(sale=sale).exists()

    maintenance = start_worker(tmp_path, concurrency=1, name="maintenance", queue_names=[maintenance_queue])
    try:
        _wait(
            lambda: (
                _statuses(sale)[OrderStatus.CANCELLED] == 10
                and ReconciliationRun.objects.using("default").filter(sale=sale).exists()
            ),
            30,
            "expiry and reconciliation",
            maintenance,
        )
    finally:
        maintenance.stop()
    assert _statuses(sale) == {OrderStatus.PENDING_PAYMENT: 5, OrderStatus.CANCELLED: 10}
    assert redis_stock(sale.pk) == 45
    assert_invariants(sale, accepted_units=5)


def test_an_expiry_run_stops_at_its_time_budget_and_the_next_runs_finish_the_backlog(settings):
    sale = live_sale(quantity=200, limit=1)
    _overdue_orders(sale, 150, "late")
    settings.ORDER_EXPIRY_MAX_SECONDS = 0.05  # the task's budget (ORDER_EXPIRY_MAX_SECONDS, whole seconds in env)
    started = time.monotonic()
    first = orders_expire_due_task()
    took = time.monotonic() - started
    assert 0 < first < 150, first
    assert took < 1.0, took  # the budget, one due-orders query and the order in hand when it ran out
    assert _statuses(sale) == {OrderStatus.PENDING_PAYMENT: 150 - first, OrderStatus.CANCELLED: first}
    total, runs = first, 1
    while total < 150:  # the next beat ticks go on where the last run stopped
        total += orders_expire_due_task()
        runs += 1
        assert runs < 500
    assert orders_expire_due_task() == 0
    assert total == 150
    assert _statuses(sale) == {OrderStatus.PENDING_PAYMENT: 0, OrderStatus.CANCELLED: 150}
    assert redis_stock(sale.pk) == 200  # every unit back once
    assert_invariants(sale, accepted_units=0)
