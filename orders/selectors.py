"""Reads of orders and reservations."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from config.db_router import pinned_to_primary
from flashsale.models import FlashSale
from inventory.keys import sale_keys
from inventory.redis_client import get_redis
from orders.consistency import alias_for_user_reads
from orders.models import Order, OrderStatus
from orders.persistence import sale_of


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


def reservation_status(*, reservation_id: str, user_id: int) -> ReservationStatus:
    """The fate of an accepted purchase, for its owner only (anyone else: 404)."""
    sale_id = sale_of(reservation_id)
    if sale_id is None:
        raise Http404
    data = get_redis().hgetall(sale_keys(sale_id).res(reservation_id))
    if data and data.get("user") != str(user_id):
        raise Http404
    if data.get("status") in ("created", "failed"):
        order_id = data.get("order_id")
        return ReservationStatus(reservation_id, data["status"], int(order_id) if order_id else None, data.get("reason", ""))
    # Pending in Redis, or its status expired: the primary is the truth (fresh read, design §3).
    with pinned_to_primary():
        order = Order.objects.filter(reservation_id=reservation_id, user_id=user_id).first()
    if order is not None:
        return _from_order(reservation_id, order)
    if data:
        return ReservationStatus(reservation_id, "pending")
    raise Http404


def orders_for_user(*, user_id: int) -> QuerySet[Order]:
    return Order.objects.using(alias_for_user_reads(user_id)).filter(user_id=user_id).select_related("sale")


def order_for_user(*, user_id: int, order_id: int) -> Order:
    order = orders_for_user(user_id=user_id).filter(pk=order_id).first()
    if order is None:
        raise Http404
    return order


def sales_with_reservations_in_stream() -> list[int]:
    """Preheated sales, open or recently closed, whose stream still holds entries."""
    recent = timezone.now() - timedelta(days=1)
    with pinned_to_primary():
        ids = list(FlashSale.objects.exclude(state=FlashSale.State.DRAFT).filter(ends_at__gte=recent).values_list("id", flat=True))
    if not ids:
        return []
    pipe = get_redis().pipeline(transaction=False)
    for sale_id in ids:
        pipe.xlen(sale_keys(sale_id).stream)
    return [sale_id for sale_id, n in zip(ids, pipe.execute()) if n]
