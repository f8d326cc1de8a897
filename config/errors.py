"""One error shape for the whole API: ``{"code": "sold_out", "message": "…"}`` (+ optional details).

Services raise ``ApplicationError`` subclasses with a stable ``code``; the DRF exception handler
below (``error_reply``) maps those and every framework, Redis and rate-limit error to that shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django import db
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from config.error_codes import error_code
from config.redis import UNAVAILABLE as REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain error: a registered code (``config.error_codes``), a message, optional details.

    It carries no HTTP status: the registry gives it, at the API, through ``error_reply``.
    """

    code = "invalid"

    def __init__(self, message: str | None = None, *, code: str | None = None, details=None):
        self.code = code or self.code
        spec = error_code(self.code)  # an unregistered code fails here, where it is raised
        self.message = message or spec.message
        self.details = details
        super().__init__(self.message)


class ServiceUnavailable(ApplicationError):
    """Redis or the sale's state is away: "unknown", never "sold out"."""

    code = "sale_unavailable"


def error_body(code: str, message: str, details=None) -> dict:
    body = {"code": code, "message": str(message)}  # a lazy message is translated here, in the request's language
    if details:
        body["details"] = details
    return body


@dataclass(frozen=True)
class ErrorReply:
    """What an exception means at the API: status, body and headers, whatever serves it."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict | None = None

    def body(self) -> dict:
        return error_body(self.code, self.message, self.details)


_DRF_CODES = {
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "not_authenticated",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.ParseError: "invalid",
}


def reply_for(code: str, message: str | None = None, details=None, headers: dict | None = None) -> ErrorReply:
    """The reply for a registered code: its status from the registry."""
    spec = error_code(code)
    return ErrorReply(spec.status, code, message or spec.message, details, headers)


def error_reply(exc: Exception) -> ErrorReply:
    """The one mapping from exceptions to the error shape (DRF views and plain API views alike)."""
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        return reply_for(exc.code, exc.message, exc.details, {"Retry-After": str(retry_after)} if retry_after else None)
    if isinstance(exc, drf.Throttled):
        return reply_for("rate_limited", headers={"Retry-After": str(int(exc.wait or 1))})
    if isinstance(exc, RequestDataTooBig):
        return reply_for("too_large")
    if isinstance(exc, Http404):
        return reply_for("not_found")
    if isinstance(exc, PermissionDenied):
        return reply_for("forbidden")
    if isinstance(exc, drf.ValidationError):
        return reply_for("invalid", details=exc.detail)
    for kind, code in _DRF_CODES.items():
        if isinstance(exc, kind):
            headers = {"WWW-Authenticate": "Token"} if code == "not_authenticated" else None
            return reply_for(code, str(exc.detail), headers=headers)
    if isinstance(exc, drf.APIException):
        return ErrorReply(exc.status_code, exc.default_code, str(exc.detail))
    if isinstance(exc, REDIS_UNAVAILABLE):
        # Why: Redis down, reloading its AOF, full or read-only means "unknown", never "sold out".
        logger.warning("redis unavailable: %s", exc)
        return reply_for(ServiceUnavailable.code, headers={"Retry-After": "1"})
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        # The database is away or timing out: a temporary refusal, never a 500.
        logger.warning("database unavailable: %s", exc)
        return reply_for("service_unavailable", headers={"Retry-After": "2"})
    logger.exception("unhandled API error", exc_info=exc)
    return reply_for("internal_error")


def error_json(code: str, message: str | None = None, *, headers: dict | None = None) -> JsonResponse:
    """A registered code's answer from outside a view (middleware, handlers, probes)."""
    return _json(reply_for(code, message, headers=headers))


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    reply = error_reply(exc)
    return Response(reply.body(), status=reply.status, headers=reply.headers)


def json_error(exc: Exception) -> JsonResponse:
    """The same answer from a plain Django view (the purchase hot path)."""
    return _json(error_reply(exc))


def _json(reply: ErrorReply) -> JsonResponse:
    response = JsonResponse(reply.body(), status=reply.status)
    for name, value in (reply.headers or {}).items():
        response[name] = value
    return response
