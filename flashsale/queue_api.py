"""``/api/sales/<id>/queue``: join the waiting room (POST) and see one's place (GET).

A GET that carries its ticket (``X-Queue-Ticket``, from the join or the last poll) is answered by
a plain Django view that reads no database row, authentication included: the signed ticket names
the user and the sale. A join with an API token (``Authorization: Token …``) is answered by the
same plain view, authenticated by the app's lean token query (config/authentication.py): DRF's
dispatch cost more than the join itself (docs/performance.md). Anything else (a session's join,
with its CSRF check; a poll without a ticket) goes through DRF with the usual authentication.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.authentication import LeanTokenAuthentication
from config.errors import ServiceUnavailable, json_error
from config.openapi import errors_documented
from flashsale import queue
from flashsale.errors import SaleNotFound
from flashsale.services import sale_exists

TICKET_HEADER = "X-Queue-Ticket"
TICKET_META = "HTTP_X_QUEUE_TICKET"
STATES = ["prequeue", "waiting", "admitted", "lapsed", "closed"]


class QueuePlaceSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=STATES)
    position = serializers.IntegerField(allow_null=True)
    ahead = serializers.IntegerField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    poll_after_ms = serializers.IntegerField()
    admitted_until = serializers.DateTimeField(allow_null=True)
    held_until = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(allow_blank=True, help_text="paused (waiting), sold_out or ended (closed)")
    ticket = serializers.CharField(help_text=f"Send it back as the {TICKET_HEADER} header on the next poll.")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def place_body(place: queue.QueuePlace) -> dict:
    return {
        "state": place.state,
        "position": place.position,
        "ahead": place.ahead,
        "eta_seconds": place.eta_seconds,
        "poll_after_ms": place.poll_after_ms,
        "admitted_until": _iso(place.admitted_until),
        "held_until": _iso(place.held_until),
        "reason": place.reason,
        "ticket": place.ticket,
    }


def _found(place: queue.QueuePlace | None, sale_id: int) -> queue.QueuePlace:
    if place is None:  # not preheated: unknown, or not on sale yet
        raise ServiceUnavailable() if sale_exists(sale_id) else SaleNotFound()
    return place


class QueueApi(APIView):
    @extend_schema(request=None, responses={200: QueuePlaceSerializer})
    @errors_documented("queue_not_open")
    def post(self, request, sale_id: int):
        place = _found(queue.queue_join(sale_id=sale_id, user_id=request.user.id), sale_id)
        return Response(place_body(place))

    @extend_schema(
        responses={200: QueuePlaceSerializer},
        parameters=[
            OpenApiParameter(
                TICKET_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="The ticket of the last answer: the poll then reads no database row.",
            )
        ],
    )
    @errors_documented("not_in_queue")
    def get(self, request, sale_id: int):
        place = _found(queue.queue_place(sale_id=sale_id, user_id=request.user.id), sale_id)
        return Response(place_body(place))


_drf_view = QueueApi.as_view()
_token_auth = LeanTokenAuthentication()


def _token_join(request: HttpRequest, sale_id: int):
    """A join by API token, or None when the request carries no token (a session: DRF's, with CSRF)."""
    try:
        authenticated = _token_auth.authenticate(request)  # DRF's parsing and refusals, one lean query
        if authenticated is None:
            return None
        place = _found(queue.queue_join(sale_id=sale_id, user_id=authenticated[0].id), sale_id)
    except Exception as exc:  # noqa: BLE001 - every failure leaves in the one error shape
        return json_error(exc)
    return JsonResponse(place_body(place))


@csrf_exempt  # DRF checks CSRF itself for session POSTs; a token join and a ticketed GET read no cookie
def queue_view(request: HttpRequest, sale_id: int):
    """A token join and a ticketed GET are served here; everything else by QueueApi."""
    if request.method == "POST":
        joined = _token_join(request, sale_id)
        return joined if joined is not None else _drf_view(request, sale_id=sale_id)
    ticket = request.META.get(TICKET_META)  # not request.headers: that builds every header's entry first
    if request.method != "GET" or not ticket:
        return _drf_view(request, sale_id=sale_id)
    claims = queue.ticket_verify(ticket, sale_id=sale_id)
    if claims is None:
        return _drf_view(request, sale_id=sale_id)  # a stale or foreign ticket: authenticate as usual
    try:
        place = _found(queue.queue_place(sale_id=sale_id, user_id=claims.user_id, ticket=claims), sale_id)
    except Exception as exc:  # noqa: BLE001 - every failure leaves in the one error shape
        return json_error(exc)
    return JsonResponse(place_body(place))


queue_view.cls, queue_view.initkwargs = QueueApi, {}  # the schema generator describes it through QueueApi
