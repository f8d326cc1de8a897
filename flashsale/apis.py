"""REST endpoints of the flash sale: sales, captcha, purchase token, purchase."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.fields import StrictCharField, StrictIntegerField
from config.openapi import errors_documented
from config.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, cursor_field, page_links, query_validated
from flashsale import purchase_api, selectors, services
from flashsale.captcha import captcha_consume, captcha_new
from flashsale.errors import SaleNotFound
from flashsale.queue_api import queue_view  # noqa: F401 - mounted by config/urls.py
from flashsale.ratelimits import enforce_rate_limits


class SaleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    sku = serializers.CharField(source="sku.name")
    description = serializers.CharField(source="sku.description", allow_blank=True)
    image_url = serializers.CharField(source="sku.image_url", allow_blank=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    quantity = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True)
    per_user_limit = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    phase = serializers.CharField()


class SaleListApi(APIView):
    permission_classes = [AllowAny]

    class QuerySerializer(serializers.Serializer):
        cursor = cursor_field()
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)

    @extend_schema(
        parameters=[QuerySerializer],
        responses=inline_serializer(
            "SalePage",
            {
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": SaleOutputSerializer(many=True),
            },
        ),
        description=f"The sales, newest first, {DEFAULT_PAGE_SIZE} a page unless `page_size` says otherwise.",
        operation_id="sales_list",
    )
    def get(self, request):
        q = query_validated(self.QuerySerializer, request)
        size, cursor = q.get("page_size", DEFAULT_PAGE_SIZE), q.get("cursor")
        if cursor:
            page = selectors.sales_page(size=size, cursor=cursor)
        else:  # the first page is what every visitor asks: from the cache
            page = selectors.sales_first_page_cached(size=size)
        sales = selectors.with_remaining(list(page.items))
        return Response({**page_links(request, page), "results": SaleOutputSerializer(sales, many=True).data})


class SaleDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=SaleOutputSerializer, operation_id="sales_retrieve")
    def get(self, request, sale_id: int):
        sale = selectors.sale_get_cached(sale_id=sale_id)
        if sale is None:
            raise SaleNotFound()
        selectors.with_remaining([sale])
        return Response(SaleOutputSerializer(sale).data)


class CaptchaApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer("Captcha", {"key": serializers.CharField(), "image_url": serializers.CharField()})
    )
    @errors_documented("rate_limited")
    def get(self, request):
        # Every challenge is a row on the primary: creating them is limited per client network.
        enforce_rate_limits(request, "captcha", user_id=None, ip_rate=settings.FLASHSALE["RATE_CAPTCHA"])
        return Response(captcha_new())


class TokenApi(APIView):
    @extend_schema_serializer(component_name="TokenInput")
    class InputSerializer(serializers.Serializer):
        captcha_key = StrictCharField(max_length=64, required=False, allow_blank=True)
        captcha_answer = StrictCharField(max_length=32, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="PurchaseToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_in = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    @errors_documented("bad_captcha", "not_admitted")
    def post(self, request, sale_id: int):
        enforce_rate_limits(request, "token", user_id=request.user.id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if settings.FLASHSALE["CAPTCHA_REQUIRED"]:
            captcha_consume(
                key=data.validated_data.get("captcha_key", ""), answer=data.validated_data.get("captcha_answer", "")
            )
        issued = services.purchase_token_issue(sale_id=sale_id, user_id=request.user.id)
        return Response(self.OutputSerializer(issued).data)


class PurchaseApi(APIView):
    """Documents ``POST /api/sales/{id}/purchase`` in the OpenAPI schema. Requests are served by
    ``flashsale.purchase_api.purchase``, a plain Django view (see there why), with this contract."""

    authentication_classes: list = []  # the signed purchase token is the credential
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="PurchaseInput")
    class InputSerializer(serializers.Serializer):
        token = StrictCharField(max_length=purchase_api.TOKEN_MAX_LENGTH)
        quantity = StrictIntegerField(min_value=1, max_value=settings.FLASHSALE["MAX_QUANTITY"])

    @extend_schema_serializer(component_name="PurchaseAccepted")
    class OutputSerializer(serializers.Serializer):
        reservation_id = serializers.CharField()
        status = serializers.CharField()
        status_url = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={202: OutputSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                pattern=purchase_api.IDEMPOTENCY_KEY.pattern,
                description="Retrying with the same key and body answers the first answer again; "
                "another body with the same key is 422 idempotency_mismatch.",
            )
        ],
        description="Reserve units for the user the purchase token was issued to (the token is the credential: "
        "no session or API token is read). 202 means accepted; follow status_url until it is an order.",
    )
    @errors_documented("bad_token", "sold_out", "limit_reached", "not_live", "idempotency_mismatch")
    def post(self, request, sale_id: int):
        return purchase_api.purchase(request._request, sale_id)


def _documented_by(view, cls: type[APIView]):
    """Let the schema generator describe a plain view through an APIView (it reads ``view.cls``)."""
    view.cls, view.initkwargs = cls, {}
    return view


purchase_view = _documented_by(purchase_api.purchase, PurchaseApi)
