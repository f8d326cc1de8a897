"""Every error code the API answers, with its HTTP status and default message: the one registry.

Domain errors (``config.errors.ApplicationError`` subclasses in each app) carry a code from here and
no status; the mapper (``config.errors.error_reply``) and the OpenAPI error descriptions
(``config.openapi``) read the status from here. A code is part of the API's contract: never rename one.
A message is translated into the request's language (locale/); a code never is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str | Promise  # translated when the answer is written, in the request's language
    common: bool = False  # any endpoint may answer it, so every operation documents it


_CODES = (
    # Any endpoint.
    ErrorCode("invalid", 400, _("The request is invalid."), common=True),
    ErrorCode("not_authenticated", 401, _("Authentication is required."), common=True),
    ErrorCode("forbidden", 403, _("You may not do that."), common=True),
    ErrorCode("not_found", 404, _("Not found."), common=True),
    ErrorCode("method_not_allowed", 405, _("Method not allowed."), common=True),
    ErrorCode("not_acceptable", 406, _("Cannot answer in the requested format."), common=True),
    ErrorCode("too_large", 413, _("The request body is too large."), common=True),
    ErrorCode("unsupported_media_type", 415, _("Send the body as application/json."), common=True),
    ErrorCode("rate_limited", 429, _("Too many requests; slow down."), common=True),
    ErrorCode("internal_error", 500, _("Something went wrong on our side."), common=True),
    ErrorCode(
        "sale_unavailable", 503, _("The sale is temporarily unavailable; please try again shortly."), common=True
    ),
    ErrorCode(
        "service_unavailable", 503, _("The service is temporarily unavailable; please try again shortly."), common=True
    ),
    ErrorCode("not_ready", 503, _("Not ready.")),
    # The purchase path (flashsale).
    ErrorCode("bad_captcha", 400, _("The captcha answer is wrong or expired; load a new captcha.")),
    ErrorCode("bad_token", 403, _("The purchase token is invalid, used or expired; get a new one.")),
    ErrorCode("sold_out", 409, _("This sale is sold out.")),
    ErrorCode("limit_reached", 409, _("You have reached this sale's per-person limit.")),
    ErrorCode("not_live", 409, _("This sale is not open for purchases right now.")),
    ErrorCode("idempotency_mismatch", 422, _("This Idempotency-Key was used with a different request.")),
    ErrorCode("not_preheated", 409, _("Preheat the sale first.")),
    # The waiting room (flashsale).
    ErrorCode("not_admitted", 409, _("It is not your turn yet: join the sale's line and wait to be admitted.")),
    ErrorCode("not_in_queue", 404, _("You have not joined this sale's line.")),
    ErrorCode("queue_not_open", 409, _("The line for this sale is not open yet.")),
    # Orders.
    ErrorCode("payment_declined", 402, _("The payment was declined; the order still awaits payment.")),
    ErrorCode("order_closed", 409, _("This order is cancelled or expired; it can no longer be paid.")),
    ErrorCode("already_paid", 409, _("This order is already paid.")),
    ErrorCode("not_cancellable", 409, _("Only an order awaiting payment can be cancelled.")),
    # Operators (reconciliation).
    ErrorCode("preheat_refused", 409, _("The sale is live with reservations in flight; confirm to force.")),
    ErrorCode("preheat_busy", 409, _("The sale kept changing during preheat; try again.")),
    ErrorCode("rebucket_refused", 409, _("The bucket count changes only with no reservation in flight; drain first.")),
)
REGISTRY: dict[str, ErrorCode] = {c.code: c for c in _CODES}


def error_code(code: str) -> ErrorCode:
    """The registered code; KeyError for one that is not registered (a test checks every domain error)."""
    return REGISTRY[code]
