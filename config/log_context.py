"""What every log line carries besides its message: the request id and, where there is one, the
reservation id. Both live in context variables (one value per thread or task), so a log call
anywhere below a view or a task is tagged without passing them along.

``LOG_FORMAT=json`` writes each record as one JSON object (python-json-logger) with these two
fields; the plain format appends them. The request id is the proxy's ``X-Request-ID`` when the
peer is a trusted proxy (Nginx sets it: deploy/nginx.conf), else a new one; it is sent back in
the response's ``X-Request-ID``. A Celery task's request id is its task id.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from config.client_ip import is_trusted_proxy

request_id: ContextVar[str] = ContextVar("request_id", default="-")
reservation_id: ContextVar[str] = ContextVar("reservation_id", default="-")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def bind_request(value: str) -> None:
    """Start a new unit of work (a request, a task): its id, and no reservation yet."""
    request_id.set(value)
    reservation_id.set("-")


def bind_reservation(value: str) -> None:
    reservation_id.set(value)


class ContextFilter(logging.Filter):
    """Put the request id and the reservation id on every record (the handlers' filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.reservation_id = reservation_id.get()
        return True


class RequestIdMiddleware:
    """First in the chain: every request gets an id before anything can log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        # Why only from a trusted proxy: a client could otherwise write any id into our logs.
        trusted = given and REQUEST_ID.match(given) and is_trusted_proxy(request.META.get("REMOTE_ADDR", ""))
        # Not reset on the way out: Django logs a 4xx/5xx answer after the middleware returned.
        bind_request(given if trusted else uuid.uuid4().hex)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id.get()
        return response


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING setting: one console handler, plain or JSON, tagged by ContextFilter."""
    formatters = {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s [req=%(request_id)s rid=%(reservation_id)s]"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(reservation_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.log_context.ContextFilter"}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
    }
