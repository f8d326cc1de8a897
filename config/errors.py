"""One error shape for the whole API: ``{"code": "sold_out", "message": "…"}`` (+ optional details).

Services raise ``ApplicationError`` subclasses with a stable ``code``; the DRF exception handler
below (``error_reply``) maps those and every framework, Redis and rate-limit error to that shape.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
from django import db
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    status = 400
    code = "invalid"
    message = "The request is invalid."

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None, details=None):
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details
        super().__init__(self.message)


class ServiceUnavailable(ApplicationError):
    status = 503
    code = "sale_unavailable"
    message = "The sale is temporarily unavailable; please try again shortly."


def error_body(code: str, message: str, details=None) -> dict:
    body = {"code": code, "message": message}
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
    drf.NotAuthenticated: ("not_authenticated", 401),
    drf.AuthenticationFailed: ("not_authenticated", 401),
    drf.PermissionDenied: ("forbidden", 403),
    drf.NotFound: ("not_found", 404),
    drf.MethodNotAllowed: ("method_not_allowed", 405),
    drf.NotAcceptable: ("not_acceptable", 406),
    drf.UnsupportedMediaType: ("unsupported_media_type", 415),
    drf.ParseError: ("invalid", 400),
}
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; please try again shortly."


def error_reply(exc: Exception) -> ErrorReply:
    """The one mapping from exceptions to the error shape (DRF views and plain API views alike)."""
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return ErrorReply(exc.status, exc.code, exc.message, exc.details, headers)
    if isinstance(exc, Ratelimited):  # a PermissionDenied subclass: must be checked first (pitfalls)
        retry_after = str(getattr(exc, "retry_after", 1))
        return ErrorReply(429, "rate_limited", "Too many requests; slow down.", headers={"Retry-After": retry_after})
    if isinstance(exc, drf.Throttled):
        return ErrorReply(429, "rate_limited", "Too many requests; slow down.", headers={"Retry-After": str(int(exc.wait or 1))})
    if isinstance(exc, RequestDataTooBig):
        return ErrorReply(413, "too_large", "The request body is too large.")
    if isinstance(exc, Http404):
        return ErrorReply(404, "not_found", "Not found.")
    if isinstance(exc, PermissionDenied):
        return ErrorReply(403, "forbidden", "You may not do that.")
    if isinstance(exc, drf.ValidationError):
        return ErrorReply(400, "invalid", "The request is invalid.", exc.detail)
    for kind, (code, status) in _DRF_CODES.items():
        if isinstance(exc, kind):
            headers = {"WWW-Authenticate": "Token"} if status == 401 else None
            return ErrorReply(status, code, str(exc.detail), headers=headers)
    if isinstance(exc, drf.APIException):
        return ErrorReply(exc.status_code, exc.default_code, str(exc.detail))
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)):
        # Why: Redis down or reloading its AOF means "unknown", never "sold out".
        logger.warning("redis unavailable: %s", exc)
        return ErrorReply(503, ServiceUnavailable.code, ServiceUnavailable.message, headers={"Retry-After": "1"})
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        # The database is away or timing out: a temporary refusal, never a 500.
        logger.warning("database unavailable: %s", exc)
        return ErrorReply(503, "service_unavailable", UNAVAILABLE_MESSAGE, headers={"Retry-After": "2"})
    logger.exception("unhandled API error", exc_info=exc)
    return ErrorReply(500, "internal_error", "Something went wrong on our side.")


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    reply = error_reply(exc)
    return Response(reply.body(), status=reply.status, headers=reply.headers)


def json_error(exc: Exception) -> JsonResponse:
    """The same answer from a plain Django view (the purchase hot path)."""
    reply = error_reply(exc)
    response = JsonResponse(reply.body(), status=reply.status)
    for name, value in (reply.headers or {}).items():
        response[name] = value
    return response
