"""Reads of orders and reservations. What is missing, or not the caller's, is None."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from inventory.redis_schema import reservation_id_sale
from inventory.selectors import reservation_record, stream_lengths
from orders.consistency import alias_for_user_reads
from orders.models import Order, OrderStatus


@dataclass(frozen=True)
class ReservationStatus:
    reservation_id: str
    status: str  # pending | created | failed
    order_id: int | None = None
    reason: str = ""


def _from_order(rid: str, order: Order) -> ReservationStatus:
    if order.status == OrderStatus.FAILED:
        return ReservationStatus(rid, "failed", order.pk, order.failure_reason)
    return ReservationStatus(rid, "created", order.pk)


def reservation_status(*, reservation_id: str, user_id: int) -> ReservationStatus | None:
    """The fate of an accepted purchase, for its owner only (anyone else: None)."""
    sale_id = reservation_id_sale(reservation_id)
    if sale_id is None:
        return None
    record = reservation_record(sale_id=sale_id, reservation_id=reservation_id)
    if record is not None and record.user_id != user_id:
        return None
    if record is not None and record.status in ("created", "failed"):
        return ReservationStatus(reservation_id, record.status, record.order_id, record.reason)
    # Pending in Redis, or its status expired: the primary is the truth (fresh read, design §3).
    with pinned_to_primary():
        order = Order.objects.filter(reservation_id=reservation_id, user_id=user_id).first()
    if order is not None:
        return _from_order(reservation_id, order)
    if record is not None:
        return ReservationStatus(reservation_id, "pending")
    return None


def orders_for_user(*, user_id: int) -> QuerySet[Order]:
    return Order.objects.using(alias_for_user_reads(user_id)).filter(user_id=user_id).select_related("sale")


def order_for_user(*, user_id: int, order_id: int) -> Order | None:
    return orders_for_user(user_id=user_id).filter(pk=order_id).first()


def sales_with_reservations_in_stream() -> list[int]:
    """Sales worth sweeping whose stream still holds entries."""
    with pinned_to_primary():
        ids = list(FlashSale.objects.worth_sweeping().values_list("id", flat=True))
    if not ids:
        return []
    return [sale_id for sale_id, n in stream_lengths(ids).items() if n]
