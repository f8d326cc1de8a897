"""API-token authentication with no DB query on a warm cache, and the session's user likewise.

DRF's ``TokenAuthentication`` loads the token and the whole user row through the ORM on every
request. Here the token's owner (user id, is_active) comes from the cache (``config.auth_cache``:
loaded from the primary on a miss, invalidated at once when the token or the user changes), and
the user comes back with every other field deferred (loaded on first access, as ``.only()``
gives). What it saves per authenticated request is measured in docs/performance.md.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from config.auth_cache import token_owner, user_row


class LeanTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the same refusals (401 not_authenticated)."""

    def authenticate_credentials(self, key):
        owner = token_owner(key)
        if owner is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user_id, is_active = owner
        if not is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user_model = get_user_model()
        user = user_model.from_db("default", [user_model._meta.pk.attname, "is_active"], [user_id, True])
        return user, Token(key=key, user_id=user_id)


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend, but the session's user comes from the cache (``config.auth_cache``)."""

    def get_user(self, user_id):
        try:
            user = user_row(int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
