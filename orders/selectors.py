"""Reads of orders and reservations. What is missing, or not the caller's, is None."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from config.db_router import pinned_to_primary
from config.pagination import Page, keyset_page
from flashsale.models import FlashSale
from inventory.redis_schema import reservation_id_sale
from inventory.selectors import reservation_record, stream_lengths
from orders.consistency import alias_for_user_reads
from orders.models import Order, OrderStatus, OrderStatusHistory

STAFF_REASON = "cancelled_by_staff"


@dataclass(frozen=True)
class ReservationStatus:
    reservation_id: str
    status: str  # pending | created | failed
    order_number: str | None = None
    reason: str = ""


def _from_order(rid: str, order: Order) -> ReservationStatus:
    if order.status == OrderStatus.FAILED:
        return ReservationStatus(rid, "failed", str(order.number), order.failure_reason)
    return ReservationStatus(rid, "created", str(order.number))


def reservation_status(*, reservation_id: str, user_id: int) -> ReservationStatus | None:
    """The fate of an accepted purchase, for its owner only (anyone else: None)."""
    sale_id = reservation_id_sale(reservation_id)
    if sale_id is None:
        return None
    record = reservation_record(sale_id=sale_id, reservation_id=reservation_id)
    if record is not None and record.user_id != user_id:
        return None
    if record is not None and record.status in ("created", "failed"):
        return ReservationStatus(reservation_id, record.status, record.order_number, record.reason)
    # Pending in Redis, or its status expired: the primary is the truth (fresh read, design §3).
    with pinned_to_primary():
        order = Order.objects.filter(reservation_id=reservation_id, user_id=user_id).first()
    if order is not None:
        return _from_order(reservation_id, order)
    if record is not None:
        return ReservationStatus(reservation_id, "pending")
    return None


def number_parse(value) -> uuid.UUID | None:
    """An order number from a URL or a cursor; None if it is not one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def orders_for_user(*, user_id: int) -> QuerySet[Order]:
    return Order.objects.using(alias_for_user_reads(user_id)).filter(user_id=user_id).select_related("sale")


def order_for_user(*, user_id: int, number) -> Order | None:
    number = number_parse(number)
    return None if number is None else orders_for_user(user_id=user_id).filter(number=number).first()


def orders_page_for_user(
    *, user_id: int, size: int, cursor: str | None, status: str | None = None, sale_id: int | None = None
) -> Page:
    """One page of the shopper's orders, newest first, ordered by number (never by the key)."""
    qs = orders_for_user(user_id=user_id)
    if status:
        qs = qs.filter(status=status)
    if sale_id is not None:
        qs = qs.filter(sale_id=sale_id)
    return keyset_page(qs, column="number", size=size, cursor=cursor, parse=uuid.UUID)


def _public_reason(reason: str) -> str:
    # A staff member's name is theirs, not the shopper's business.
    return STAFF_REASON if reason.startswith(f"{STAFF_REASON}:") else reason


def history_for_user(*, user_id: int, number) -> list[dict] | None:
    """The order's status changes, oldest first, for its owner only (anyone else: None)."""
    number = number_parse(number)
    if number is None:
        return None
    found = histories_for_user(user_id=user_id, numbers=[number])
    return found.get(str(number))


def histories_for_user(*, user_id: int, numbers: list) -> dict[str, list[dict]]:
    """The status changes of the shopper's orders with these numbers, oldest first, by number
    (one query; an order that is not theirs is absent)."""
    rows = (
        OrderStatusHistory.objects.using(alias_for_user_reads(user_id))
        .filter(order__user_id=user_id, order__number__in=numbers)
        .order_by("at", "id")
        .values("order__number", "from_status", "to_status", "reason", "at")
    )
    found: dict[str, list[dict]] = {}
    for h in rows:
        number = str(h.pop("order__number"))
        found.setdefault(number, []).append({**h, "reason": _public_reason(h["reason"])})
    return found


def sales_with_reservations_in_stream() -> list[int]:
    """Sales worth sweeping whose stream still holds entries."""
    with pinned_to_primary():
        ids = list(FlashSale.objects.worth_sweeping().values_list("id", flat=True))
    if not ids:
        return []
    return [sale_id for sale_id, n in stream_lengths(ids).items() if n]
