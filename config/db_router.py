"""Read/write split: writes and migrations on the primary, reads on the replica unless pinned.

A read is pinned to the primary (design §3):
- inside a transaction on the primary (it must see its own uncommitted writes);
- for the rest of a request once it has written to the DB, and for REPLICA_PIN_SECONDS after it
  (a cookie). A POST that writes nothing to the DB (a purchase: Redis only) is not pinned, so it
  keeps working from the replica while the primary is away;
- inside every Celery task (``pinned_to_primary`` is entered by a task signal);
- in selectors that need fresh data, which wrap themselves in ``pinned_to_primary()``.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

from django.conf import settings
from django.core import signing
from django.db import connections

PRIMARY = "default"
REPLICA = "replica"
PIN_COOKIE = "pin_primary"
PIN_SALT = "config.pin-primary"

_pinned: contextvars.ContextVar[int] = contextvars.ContextVar("pinned_to_primary", default=0)
# Set by db_for_write inside a request: the list is per request (the middleware makes a new one).
_wrote: contextvars.ContextVar[list | None] = contextvars.ContextVar("request_wrote", default=None)


def is_pinned() -> bool:
    return _pinned.get() > 0 or bool(_wrote.get()) or connections[PRIMARY].in_atomic_block


@contextmanager
def pinned_to_primary():
    token = _pinned.set(_pinned.get() + 1)
    try:
        yield
    finally:
        _pinned.reset(token)


def pin() -> contextvars.Token:
    return _pinned.set(_pinned.get() + 1)


def unpin(token: contextvars.Token) -> None:
    _pinned.reset(token)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return PRIMARY if is_pinned() else REPLICA

    def db_for_write(self, model, **hints):
        wrote = _wrote.get()
        if wrote is not None and not wrote:
            wrote.append(True)  # from now on this request reads its own writes from the primary
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # both aliases hold the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


def _authenticated(request) -> bool:
    # request.user is set by the auth middleware (a session) or by DRF's authentication (an API token).
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def _pin_cookie_valid(request) -> bool:
    if PIN_COOKIE not in request.COOKIES:
        return False
    try:
        request.get_signed_cookie(PIN_COOKIE, salt=PIN_SALT, max_age=settings.REPLICA_PIN_SECONDS)
    except (signing.BadSignature, KeyError):
        return False
    return True


class PinPrimaryAfterWriteMiddleware:
    """Pins a request to the primary once it writes to the DB, and its client's next few seconds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        wrote: list = []
        wrote_token = _wrote.set(wrote)
        pin_token = pin() if _pin_cookie_valid(request) else None
        try:
            response = self.get_response(request)
        finally:
            if pin_token is not None:
                unpin(pin_token)
            _wrote.reset(wrote_token)
        if wrote and response.status_code < 400 and settings.REPLICA_PIN_SECONDS and _authenticated(request):
            # Why: the replica may lag; the writer reads its own writes from the primary for a while.
            # Signed, and only for a logged-in writer: nobody else may send their reads to the primary.
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=PIN_SALT,
                max_age=settings.REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
