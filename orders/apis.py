"""REST endpoints of orders and reservations. A caller sees only their own (others: 404)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import errors_documented
from orders import lifecycle, selectors
from orders.errors import OrderNotFound


class ReservationOutputSerializer(serializers.Serializer):
    reservation_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "created", "failed"])
    order_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reservation_id = serializers.CharField()
    sale_id = serializers.IntegerField()
    status = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    failure_reason = serializers.CharField()
    reserved_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    payment_ref = serializers.CharField()


class ReservationStatusApi(APIView):
    @extend_schema(responses=ReservationOutputSerializer)
    def get(self, request, reservation_id: str):
        found = selectors.reservation_status(reservation_id=reservation_id, user_id=request.user.id)
        if found is None:
            raise OrderNotFound()
        return Response(ReservationOutputSerializer(found).data)


class OrderListApi(APIView):
    @extend_schema(responses=OrderOutputSerializer(many=True))
    def get(self, request):
        orders = selectors.orders_for_user(user_id=request.user.id)[:100]
        return Response(OrderOutputSerializer(orders, many=True).data)


class OrderDetailApi(APIView):
    @extend_schema(responses=OrderOutputSerializer)
    def get(self, request, order_id: int):
        order = selectors.order_for_user(user_id=request.user.id, order_id=order_id)
        if order is None:
            raise OrderNotFound()
        return Response(OrderOutputSerializer(order).data)


class OrderPayApi(APIView):
    @extend_schema(
        request=None,
        responses=OrderOutputSerializer,
        parameters=[
            OpenApiParameter(
                "fail", bool, OpenApiParameter.QUERY, required=False, description="simulate a declined payment"
            )
        ],
    )
    @errors_documented("payment_declined", "order_closed", "already_paid")
    def post(self, request, order_id: int):
        # The simulated decline is a test hook: only where PAYMENT_FAIL_HOOK is on (DEBUG by default).
        decline = settings.PAYMENT_FAIL_HOOK and request.query_params.get("fail") in ("1", "true")
        order = lifecycle.order_pay(order_id=order_id, user_id=request.user.id, decline=decline)
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    @extend_schema(request=None, responses=OrderOutputSerializer)
    @errors_documented("not_cancellable")
    def post(self, request, order_id: int):
        order = lifecycle.order_cancel(order_id=order_id, user_id=request.user.id)
        return Response(OrderOutputSerializer(order).data)
