"""Bench-only views, served from bench/urls.py through the app's full middleware stack.

- ``ping``: the bare JSON view, the ceiling any endpoint of this stack can reach;
- ``AuthPingApi``: a DRF POST with the app's authentication and nothing else (where the time goes);
- ``NaivePurchaseApi``: the purchase as a naive implementation would write it: lock the stock row
  with SELECT … FOR UPDATE inside the request, check, write the order, commit. It is the baseline
  of ``vs_naive``, and deliberately never part of the app.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.http import JsonResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.db_router import PRIMARY
from config.errors import ApplicationError
from config.fields import StrictIntegerField
from flashsale.models import FlashSale
from inventory.models import Stock
from inventory.redis_schema import reservation_id_new
from orders.models import LIVE_STATUSES, Order, OrderStatus


def ping(request):
    return JsonResponse({"ok": True})


class AuthPingApi(APIView):
    def post(self, request):
        return Response({"ok": True, "user": request.user.pk})


class NaivePurchaseApi(APIView):
    class InputSerializer(serializers.Serializer):
        quantity = StrictIntegerField(min_value=1, max_value=settings.FLASHSALE["MAX_QUANTITY"])

    def post(self, request, sale_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        qty = data.validated_data["quantity"]
        with transaction.atomic(using=PRIMARY):
            sale = FlashSale.objects.using(PRIMARY).filter(pk=sale_id).first()
            if sale is None:
                raise ApplicationError("No such sale.", code="not_found")
            # The naive part: every buyer of the SKU queues on this row lock for the whole request.
            stock = Stock.objects.using(PRIMARY).select_for_update().get(sku_id=sale.sku_id)
            bought = (
                Order.objects.using(PRIMARY)
                .filter(
                    sale_id=sale.pk,
                    user_id=request.user.pk,
                    status__in=LIVE_STATUSES,
                )
                .aggregate(n=Sum("quantity"))["n"]
                or 0
            )
            if bought + qty > sale.per_user_limit:
                raise ApplicationError("Limit reached.", code="limit_reached")
            if stock.total - stock.sold < qty:
                raise ApplicationError("Sold out.", code="sold_out")
            stock.sold += qty
            stock.save(update_fields=["sold", "updated_at"])
            now = timezone.now()
            order = Order.objects.using(PRIMARY).create(
                reservation_id=reservation_id_new(sale.pk),
                user_id=request.user.pk,
                sale_id=sale.pk,
                quantity=qty,
                price=sale.price,
                status=OrderStatus.PENDING_PAYMENT,
                reserved_at=now,
                expires_at=now + timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT),
            )
        return Response({"order_id": order.pk, "status": "created"}, status=202)
