"""One error shape for the whole API: ``{"code": "sold_out", "message": "…"}`` (+ optional details).

Services raise ``ApplicationError`` subclasses with a stable ``code``; the DRF exception handler
below maps those and every framework, Redis and rate-limit error to that shape.
"""
from __future__ import annotations

import logging

import redis
from django import db
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
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


def _response(code: str, message: str, status: int, details=None, headers=None) -> Response:
    return Response(error_body(code, message, details), status=status, headers=headers)


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


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return _response(exc.code, exc.message, exc.status, exc.details, headers=headers)
    if isinstance(exc, Ratelimited):  # a PermissionDenied subclass: must be checked first (pitfalls)
        retry_after = str(getattr(exc, "retry_after", 1))
        return _response("rate_limited", "Too many requests; slow down.", 429, headers={"Retry-After": retry_after})
    if isinstance(exc, drf.Throttled):
        return _response("rate_limited", "Too many requests; slow down.", 429, headers={"Retry-After": str(int(exc.wait or 1))})
    if isinstance(exc, RequestDataTooBig):
        return _response("too_large", "The request body is too large.", 413)
    if isinstance(exc, Http404):
        return _response("not_found", "Not found.", 404)
    if isinstance(exc, PermissionDenied):
        return _response("forbidden", "You may not do that.", 403)
    if isinstance(exc, drf.ValidationError):
        return _response("invalid", "The request is invalid.", 400, details=exc.detail)
    for kind, (code, status) in _DRF_CODES.items():
        if isinstance(exc, kind):
            headers = {"WWW-Authenticate": "Token"} if status == 401 else None
            return _response(code, str(exc.detail), status, headers=headers)
    if isinstance(exc, drf.APIException):
        return _response(exc.default_code, str(exc.detail), exc.status_code)
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)):
        # Why: Redis down or reloading its AOF means "unknown", never "sold out".
        logger.warning("redis unavailable: %s", exc)
        return _response(ServiceUnavailable.code, ServiceUnavailable.message, 503, headers={"Retry-After": "1"})
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        # The database is away or timing out: a temporary refusal, never a 500.
        logger.warning("database unavailable: %s", exc)
        return _response("service_unavailable", "The service is temporarily unavailable; please try again shortly.", 503,
                         headers={"Retry-After": "2"})
    logger.exception("unhandled API error", exc_info=exc)
    return _response("internal_error", "Something went wrong on our side.", 500)
