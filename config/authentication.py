"""API-token authentication in one lean query.

DRF's ``TokenAuthentication`` loads the token and the whole user row through the ORM
(``select_related``) on every request; the API needs only the user's id and whether the account
is active. One raw join returns those two columns and the user comes back with every other field
deferred (loaded on first access, as ``.only()`` gives). What it saves per authenticated request
is measured in docs/performance.md.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def _sql(connection) -> str:
    q = connection.ops.quote_name  # Token's primary key column is `key`, a reserved word in MariaDB
    user, token = get_user_model()._meta, Token._meta
    return (
        f"SELECT u.{q(user.pk.column)}, u.{q('is_active')} FROM {q(token.db_table)} t "
        f"JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = t.{q(token.get_field('user').column)} "
        f"WHERE t.{q(token.pk.column)} = %s"
    )


class LeanTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the same refusals (401 not_authenticated)."""

    def authenticate_credentials(self, key):
        alias = router.db_for_read(Token)  # the replica, unless this request is pinned to the primary
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(_sql(connection), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user_id, is_active = row
        if not is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user = get_user_model().from_db(alias, [get_user_model()._meta.pk.attname, "is_active"], [user_id, True])
        return user, Token(key=key, user_id=user_id)
