"""REST endpoints of orders and reservations. A caller sees only their own (others: 404).

Orders are named by their public number (a UUIDv7); the integer key never leaves the server.
The detail and the first page of the list are served through the cache (``orders.read_cache``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.authentication import LeanTokenAuthentication
from config.errors import json_error
from config.log_context import bind_reservation
from config.openapi import errors_documented
from config.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, cursor_field, page_links, query_validated
from orders import lifecycle, read_cache, selectors
from orders.errors import OrderNotFound
from orders.models import OrderStatus


class ReservationOutputSerializer(serializers.Serializer):
    reservation_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "created", "failed"])
    order_number = serializers.UUIDField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class OrderOutputSerializer(serializers.Serializer):
    number = serializers.UUIDField()
    reservation_id = serializers.CharField()
    sale_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
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


class HistoryOutputSerializer(serializers.Serializer):
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()


def order_data(order) -> dict:
    """What the API says about an order, as plain data (cacheable)."""
    return dict(OrderOutputSerializer(order).data)


class ReservationStatusApi(APIView):
    @extend_schema(responses=ReservationOutputSerializer)
    def get(self, request, reservation_id: str):
        bind_reservation(reservation_id[:64])
        found = selectors.reservation_status(reservation_id=reservation_id, user_id=request.user.id)
        if found is None:
            raise OrderNotFound()
        return Response(ReservationOutputSerializer(found).data)


class OrderListApi(APIView):
    class QuerySerializer(serializers.Serializer):
        cursor = cursor_field()
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
        status = serializers.ChoiceField(required=False, choices=OrderStatus.choices)
        sale = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    @extend_schema(
        parameters=[QuerySerializer],
        responses=inline_serializer(
            "OrderPage",
            {
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": OrderOutputSerializer(many=True),
            },
        ),
        description=f"Your orders, newest first, {DEFAULT_PAGE_SIZE} a page unless `page_size` says otherwise.",
        operation_id="orders_list",
    )
    def get(self, request):
        q = query_validated(self.QuerySerializer, request)
        size = q.get("page_size", DEFAULT_PAGE_SIZE)
        user_id = request.user.id
        if q.keys() <= {"page_size"}:  # the first page, unfiltered: the one every shopper polls
            first = read_cache.first_page(user_id=user_id, size=size, render=order_data)
            page = selectors.Page(first["results"], first["next_cursor"], None)
        else:
            page = selectors.orders_page_for_user(
                user_id=user_id, size=size, cursor=q.get("cursor"), status=q.get("status"), sale_id=q.get("sale")
            )
            page = selectors.Page([order_data(o) for o in page.items], page.next_cursor, page.previous_cursor)
        return Response({**page_links(request, page), "results": page.items})


class OrderDetailApi(APIView):
    @extend_schema(responses=OrderOutputSerializer, operation_id="orders_retrieve")
    def get(self, request, number):
        data = read_cache.order_detail(user_id=request.user.id, number=number, render=order_data)
        if data is None:
            raise OrderNotFound()
        return Response(data)


_order_detail_drf = OrderDetailApi.as_view()
_token_auth = LeanTokenAuthentication()


@csrf_exempt  # a GET by API token reads no cookie; anything else goes to DRF (session, CSRF)
def order_detail_view(request: HttpRequest, number):
    """``GET /api/orders/{number}/`` by API token, served without DRF's dispatch: a polling
    shopper's read is two cache round trips (the token's owner, the order) and no DB query.
    Without a token (a session), or another method, OrderDetailApi serves it."""
    if request.method != "GET":
        return _order_detail_drf(request, number=number)
    try:
        authenticated = _token_auth.authenticate(request)  # DRF's parsing and refusals
        if authenticated is None:
            return _order_detail_drf(request, number=number)
        data = read_cache.order_detail(user_id=authenticated[0].id, number=number, render=order_data)
        if data is None:
            raise OrderNotFound()
    except Exception as exc:  # noqa: BLE001 - every failure leaves in the one error shape
        return json_error(exc)
    return JsonResponse(data)


order_detail_view.cls, order_detail_view.initkwargs = OrderDetailApi, {}  # the schema describes it so


class OrderHistoryApi(APIView):
    @extend_schema(responses=HistoryOutputSerializer(many=True), operation_id="orders_history_list")
    def get(self, request, number):
        rows = selectors.history_for_user(user_id=request.user.id, number=number)
        if rows is None:
            raise OrderNotFound()
        return Response(HistoryOutputSerializer(rows, many=True).data)


class OrderPayApi(APIView):
    class QuerySerializer(serializers.Serializer):
        # Anything but a boolean's spelling (true, false, 1, 0...) is a 400, as the schema's boolean says.
        fail = serializers.BooleanField(required=False, default=False, help_text="simulate a declined payment")

    @extend_schema(request=None, responses=OrderOutputSerializer, parameters=[QuerySerializer])
    @errors_documented("payment_declined", "order_closed", "already_paid")
    def post(self, request, number):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # The simulated decline is a test hook: only where PAYMENT_FAIL_HOOK is on (DEBUG by default).
        decline = settings.PAYMENT_FAIL_HOOK and query.validated_data["fail"]
        order = lifecycle.order_pay(number=number, user_id=request.user.id, decline=decline)
        return Response(order_data(order))


class OrderCancelApi(APIView):
    @extend_schema(request=None, responses=OrderOutputSerializer)
    @errors_documented("not_cancellable")
    def post(self, request, number):
        order = lifecycle.order_cancel(number=number, user_id=request.user.id)
        return Response(order_data(order))
