"""Order lifecycle writes: pay, cancel, expire. Every status change is a compare-and-set.

``UPDATE … WHERE id = … AND status = 'pending_payment'`` decides every race (pay against expiry,
a double cancel, two expiry runs): the one whose UPDATE changed a row won; the others changed
nothing and say so. Expiry compares ``expires_at`` with the database clock, never a worker's.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now

from config.db_router import pinned_to_primary
from inventory.models import Stock
from inventory.services import hold_end, stock_release
from orders import payments
from orders.consistency import note_user_writes
from orders.errors import AlreadyPaid, NotCancellable, OrderClosed, OrderNotFound, PaymentDeclined
from orders.models import Order, OrderStatus, OrderStatusHistory
from orders.read_cache import orders_changed
from orders.selectors import number_parse

logger = logging.getLogger(__name__)
PENDING = OrderStatus.PENDING_PAYMENT


def _owned(order_id: int | None, user_id: int | None, number=None) -> Order:
    """The order by its key (internal callers) or its public number (the API), for its owner
    (``user_id``) or for staff and jobs (``user_id=None``), read on the primary."""
    if order_id is not None:
        lookup = {"pk": order_id}
    elif (parsed := number_parse(number)) is not None:
        lookup = {"number": parsed}
    else:
        raise OrderNotFound()
    with pinned_to_primary():
        qs = Order.objects.filter(**lookup)
        order = (qs.filter(user_id=user_id) if user_id is not None else qs).select_related("sale").first()
    if order is None:
        raise OrderNotFound()
    return order


def _changed(order: Order) -> None:
    """After the commit of a status change: read-your-writes first, then the cached reads' version."""
    note_user_writes([order.user_id])
    orders_changed([order.user_id])


def order_pay(*, number, user_id: int, decline: bool = False) -> Order:
    order = _owned(None, user_id, number)
    if order.status != PENDING:
        raise AlreadyPaid() if order.status == OrderStatus.PAID else OrderClosed()
    result = payments.charge(order_id=order.pk, amount=order.amount, decline=decline)
    if not result.approved:
        raise PaymentDeclined()
    with transaction.atomic(using="default"):
        # Why CAS: expiry or a cancel may have closed the order since we read it; the DB clock decides.
        won = Order.objects.filter(pk=order.pk, status=PENDING, expires_at__gt=Now()).update(
            status=OrderStatus.PAID, paid_at=Now(), payment_ref=result.reference
        )
        if won:
            OrderStatusHistory.objects.create(
                order_id=order.pk, from_status=PENDING, to_status=OrderStatus.PAID, reason=result.reference
            )
    if not won:
        payments.refund(reference=result.reference)  # charged, but the order closed first: give it back
        raise OrderClosed()
    _changed(order)
    _end_hold(order)
    return _owned(order.pk, user_id)


def _end_hold(order: Order) -> None:
    try:
        # The units are sold for good: they no longer keep the sale's waiting room open. Guarded by
        # the reservation id; if this is lost, the hold still ends at the order's payment deadline.
        hold_end(sale_id=order.sale_id, reservation_id=order.reservation_id)
    except Exception:  # Redis away: the deadline ends the hold
        logger.warning("could not end order %s's hold in Redis", order.pk, exc_info=True)


def _close(order: Order, *, reason: str, only_if_expired: bool) -> bool:
    """CAS pending → cancelled and return the units to the DB stock in one transaction."""
    with transaction.atomic(using="default"):
        qs = Order.objects.filter(pk=order.pk, status=PENDING)
        if only_if_expired:
            qs = qs.filter(expires_at__lte=Now())
        if not qs.update(status=OrderStatus.CANCELLED, cancelled_at=Now(), stock_returned=True):
            return False
        # Why a guarded decrement: sold moves only by conditional UPDATEs (the CHECK backs it up).
        Stock.objects.filter(sku_id=order.sale.sku_id, sold__gte=order.quantity).update(sold=F("sold") - order.quantity)
        OrderStatusHistory.objects.create(
            order_id=order.pk, from_status=PENDING, to_status=OrderStatus.CANCELLED, reason=reason
        )
    _changed(order)
    _return_to_redis(order)
    return True


def _return_to_redis(order: Order) -> None:
    try:
        # Exactly once whatever happens: the release script is guarded by the reservation id.
        stock_release(
            sale_id=order.sale_id, reservation_id=order.reservation_id, user_id=order.user_id, quantity=order.quantity
        )
    except Exception:  # Redis away: reconciliation finds the unreturned units and returns them
        logger.warning("could not return order %s's units to Redis; reconciliation will", order.pk, exc_info=True)


def order_cancel(
    *, user_id: int | None, order_id: int | None = None, number=None, reason: str = "cancelled_by_user"
) -> Order:
    """Cancel an order awaiting payment, named by key or number (its owner, or staff with ``user_id=None``)."""
    order = _owned(order_id, user_id, number)
    if not _close(order, reason=reason, only_if_expired=False):
        current = _owned(order.pk, user_id)
        if current.status == OrderStatus.CANCELLED:
            return current  # cancelling twice is the same as once
        raise NotCancellable()
    return _owned(order.pk, user_id)


def orders_expire_due(*, batch: int = 500, max_seconds: float | None = None) -> int:
    """Cancel orders whose payment window has passed (database clock), oldest first, in batches,
    until none is due or ``max_seconds`` (default ORDER_EXPIRY_MAX_SECONDS) are spent; the next
    run goes on from there. Returns how many it cancelled."""
    budget = settings.ORDER_EXPIRY_MAX_SECONDS if max_seconds is None else max_seconds
    deadline = time.monotonic() + budget
    closed = 0
    while True:
        with pinned_to_primary():
            due = list(
                Order.objects.filter(status=PENDING, expires_at__lte=Now())
                .select_related("sale")
                .order_by("expires_at")[:batch]
            )
        for order in due:
            closed += _close(order, reason="payment_timeout", only_if_expired=True)
            if time.monotonic() > deadline:
                logger.info("expiry stopped after %.1f s with %s cancelled; the next run goes on", budget, closed)
                return closed
        if len(due) < batch:
            return closed


def order_expire_if_due(*, order_id: int) -> bool:
    """Cancel one order if its payment window has passed (database clock); False if it had not
    or if it was paid or cancelled first."""
    order = _owned(order_id, None)
    return order.status == PENDING and _close(order, reason="payment_timeout", only_if_expired=True)
