"""Bench-only Celery task: one order per task, the baseline of the batched persister.

It does the same database work per order as ``orders.services`` does per batch (skip a known
reservation, guarded stock UPDATE, INSERT the order and its history row), but in one task and one
transaction per order, the way a purchase view that calls ``persist_order.delay(...)`` would.
Registered only in workers started with DJANGO_SETTINGS_MODULE=bench.settings (CELERY_IMPORTS).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F

from config.db_router import PRIMARY
from flashsale.models import FlashSale
from inventory.models import Stock
from orders.models import Order, OrderStatus, OrderStatusHistory


@shared_task(name="bench.persist_one_order", acks_late=True, ignore_result=True)
def persist_one_order(sale_id: int, user_id: int, reservation_id: str, quantity: int, reserved_at_ms: int) -> bool:
    reserved_at = datetime.fromtimestamp(reserved_at_ms / 1000, tz=UTC)
    with transaction.atomic(using=PRIMARY):
        if Order.objects.using(PRIMARY).filter(reservation_id=reservation_id).exists():
            return False  # a redelivery: already written
        sale = FlashSale.objects.using(PRIMARY).get(pk=sale_id)
        took = (
            Stock.objects.using(PRIMARY)
            .filter(sku_id=sale.sku_id, sold__lte=F("total") - quantity)
            .update(sold=F("sold") + quantity)
            == 1
        )
        order = Order.objects.using(PRIMARY).create(
            reservation_id=reservation_id,
            user_id=user_id,
            sale_id=sale_id,
            quantity=quantity,
            price=sale.price,
            reserved_at=reserved_at,
            status=OrderStatus.PENDING_PAYMENT if took else OrderStatus.FAILED,
            failure_reason="" if took else "out_of_stock",
            stock_returned=not took,
            expires_at=reserved_at + timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT) if took else None,
        )
        OrderStatusHistory.objects.using(PRIMARY).create(order=order, to_status=order.status, reason="persisted")
    return took
