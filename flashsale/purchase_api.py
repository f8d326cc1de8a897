"""``POST /api/sales/<id>/purchase``: the hot path, a plain Django view with one Redis round trip.

Why not DRF here (measured, docs/performance.md): DRF's request wrapping, token authentication (a
DB query per request) and rendering, and django-ratelimit's four cache calls cost several times
the purchase itself. This view keeps the contract: the same URL, JSON in and out, error shape and
codes, and its OpenAPI description (``flashsale.apis.PurchaseApi`` documents it).

Who is buying: the user the purchase token names. The token is signed with SECRET_KEY and minted
by the token endpoint only for an authenticated user (session or API token), after the captcha
and that endpoint's rate limits; it is bound to the user and the sale, lives FLASHSALE_TOKEN_TTL
seconds and is spent by the purchase script. So a purchase reads no session and no user row, and
as it ignores cookies there is no ambient credential for a cross-site request to borrow (no CSRF
check needed, the view is csrf_exempt). The per-user and per-IP limits are counted in the script.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from config.client_ip import client_rate_bucket
from config.errors import ApplicationError, json_error
from config.json_depth import MAX_JSON_DEPTH, json_too_deep
from config.log_context import bind_reservation
from flashsale import services
from flashsale.ratelimits import enforce_rate_limits

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TOKEN_MAX_LENGTH = 512


class UnsupportedMediaType(ApplicationError):
    code = "unsupported_media_type"


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: refused, as DRF's strict JSON parser does


def _payload(request: HttpRequest):
    body = request.body  # raises RequestDataTooBig past DATA_UPLOAD_MAX_MEMORY_SIZE (e.g. a chunked body)
    if not body:
        return {}
    if request.content_type != "application/json":
        raise UnsupportedMediaType()
    if json_too_deep(body):  # a purchase body is one flat object: two byte counts and done
        raise ApplicationError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):  # not JSON, not UTF-8; RecursionError cannot pass the depth check
        raise ApplicationError("JSON parse error.") from None


def _validated(data) -> tuple[str, int]:
    """(token, quantity), or ApplicationError with the field errors DRF's serializer would give."""
    if not isinstance(data, dict):
        raise ApplicationError(
            details={"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
        )
    errors: dict[str, list[str]] = {}
    token, quantity = data.get("token"), data.get("quantity")
    if "token" not in data:
        errors["token"] = ["This field is required."]
    elif token is None:
        errors["token"] = ["This field may not be null."]
    elif not isinstance(token, str):  # as config.fields.StrictCharField: a JSON string, taken as sent
        errors["token"] = ["Not a valid string."]
    elif not token:
        errors["token"] = ["This field may not be blank."]
    elif len(token) > TOKEN_MAX_LENGTH:
        errors["token"] = [f"Ensure this field has no more than {TOKEN_MAX_LENGTH} characters."]
    elif "\x00" in token:
        errors["token"] = ["Null characters are not allowed."]
    maximum = settings.FLASHSALE["MAX_QUANTITY"]
    if "quantity" not in data:
        errors["quantity"] = ["This field is required."]
    elif quantity is None:
        errors["quantity"] = ["This field may not be null."]
    elif type(quantity) is not int:  # not bool, not 1.0, not "1": a JSON integer only
        errors["quantity"] = ["A JSON integer is required."]
    elif quantity < 1:
        errors["quantity"] = ["Ensure this value is greater than or equal to 1."]
    elif quantity > maximum:
        errors["quantity"] = [f"Ensure this value is less than or equal to {maximum}."]
    if errors:
        raise ApplicationError(details=errors)
    return token, quantity


@csrf_exempt  # no cookie is read: the signed purchase token in the body is the only credential
def purchase(request: HttpRequest, sale_id: int):
    if request.method != "POST":
        response = json_error(ApplicationError(code="method_not_allowed"))
        response["Allow"] = "POST"
        return response
    try:
        idem_key = request.headers.get("Idempotency-Key")
        if idem_key is not None and not IDEMPOTENCY_KEY.match(idem_key):
            raise ApplicationError(details={"Idempotency-Key": ["1-64 characters of A-Z a-z 0-9 _ . : -"]})
        token, quantity = _validated(_payload(request))
        accepted = services.purchase_accept(
            sale_id=sale_id,
            quantity=quantity,
            token=token,
            idem_key=idem_key,
            ip_bucket=client_rate_bucket(request),
            # Why: a refused token may cost DB reads (404 or 403?), so garbage is limited per IP first.
            on_bad_token=lambda: enforce_rate_limits(request, "purchase-refused", user_id=None),
        )
    except Exception as exc:  # noqa: BLE001 - every failure leaves in the one error shape (unknown ones logged, 500)
        return json_error(exc)
    rid = accepted.reservation_id
    bind_reservation(rid)  # whatever logs from here on (Django's access of this answer) names it
    return JsonResponse(
        {"reservation_id": rid, "status": "pending", "status_url": f"/api/reservations/{rid}"}, status=202
    )
