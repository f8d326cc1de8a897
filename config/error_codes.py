"""Every error code the API answers, with its HTTP status and default message: the one registry.

Domain errors (``config.errors.ApplicationError`` subclasses in each app) carry a code from here and
no status; the mapper (``config.errors.error_reply``) and the OpenAPI error descriptions
(``config.openapi``) read the status from here. A code is part of the API's contract: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str
    common: bool = False  # any endpoint may answer it, so every operation documents it


_CODES = (
    # Any endpoint.
    ErrorCode("invalid", 400, "The request is invalid.", common=True),
    ErrorCode("not_authenticated", 401, "Authentication is required.", common=True),
    ErrorCode("forbidden", 403, "You may not do that.", common=True),
    ErrorCode("not_found", 404, "Not found.", common=True),
    ErrorCode("method_not_allowed", 405, "Method not allowed.", common=True),
    ErrorCode("not_acceptable", 406, "Cannot answer in the requested format.", common=True),
    ErrorCode("too_large", 413, "The request body is too large.", common=True),
    ErrorCode("unsupported_media_type", 415, "Send the body as application/json.", common=True),
    ErrorCode("rate_limited", 429, "Too many requests; slow down.", common=True),
    ErrorCode("internal_error", 500, "Something went wrong on our side.", common=True),
    ErrorCode("sale_unavailable", 503, "The sale is temporarily unavailable; please try again shortly.", common=True),
    ErrorCode(
        "service_unavailable", 503, "The service is temporarily unavailable; please try again shortly.", common=True
    ),
    ErrorCode("not_ready", 503, "Not ready."),
    # The purchase path (flashsale).
    ErrorCode("bad_captcha", 400, "The captcha answer is wrong or expired; load a new captcha."),
    ErrorCode("bad_token", 403, "The purchase token is invalid, used or expired; get a new one."),
    ErrorCode("sold_out", 409, "This sale is sold out."),
    ErrorCode("limit_reached", 409, "You have reached this sale's per-person limit."),
    ErrorCode("not_live", 409, "This sale is not open for purchases right now."),
    ErrorCode("idempotency_mismatch", 422, "This Idempotency-Key was used with a different request."),
    ErrorCode("not_preheated", 409, "Preheat the sale first."),
    # The waiting room (flashsale).
    ErrorCode("not_admitted", 409, "It is not your turn yet: join the sale's line and wait to be admitted."),
    ErrorCode("not_in_queue", 404, "You have not joined this sale's line."),
    ErrorCode("queue_not_open", 409, "The line for this sale is not open yet."),
    # Orders.
    ErrorCode("payment_declined", 402, "The payment was declined; the order still awaits payment."),
    ErrorCode("order_closed", 409, "This order is cancelled or expired; it can no longer be paid."),
    ErrorCode("already_paid", 409, "This order is already paid."),
    ErrorCode("not_cancellable", 409, "Only an order awaiting payment can be cancelled."),
    # Operators (reconciliation).
    ErrorCode("preheat_refused", 409, "The sale is live with reservations in flight; confirm to force."),
    ErrorCode("preheat_busy", 409, "The sale kept changing during preheat; try again."),
    ErrorCode("rebucket_refused", 409, "The bucket count changes only with no reservation in flight; drain first."),
)
REGISTRY: dict[str, ErrorCode] = {c.code: c for c in _CODES}


def error_code(code: str) -> ErrorCode:
    """The registered code; KeyError for one that is not registered (a test checks every domain error)."""
    return REGISTRY[code]
