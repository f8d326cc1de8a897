"""REST endpoints of orders and reservations. A caller sees only their own (others: 404)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.log_context import bind_reservation
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
        bind_reservation(reservation_id[:64])
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
    class QuerySerializer(serializers.Serializer):
        # Anything but a boolean's spelling (true, false, 1, 0...) is a 400, as the schema's boolean says.
        fail = serializers.BooleanField(required=False, default=False, help_text="simulate a declined payment")

    @extend_schema(request=None, responses=OrderOutputSerializer, parameters=[QuerySerializer])
    @errors_documented("payment_declined", "order_closed", "already_paid")
    def post(self, request, order_id: int):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # The simulated decline is a test hook: only where PAYMENT_FAIL_HOOK is on (DEBUG by default).
        decline = settings.PAYMENT_FAIL_HOOK and query.validated_data["fail"]
        order = lifecycle.order_pay(order_id=order_id, user_id=request.user.id, decline=decline)
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    @extend_schema(request=None, responses=OrderOutputSerializer)
    @errors_documented("not_cancellable")
    def post(self, request, order_id: int):
        order = lifecycle.order_cancel(order_id=order_id, user_id=request.user.id)
        return Response(OrderOutputSerializer(order).data)
