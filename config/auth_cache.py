"""Authentication with no DB query on a warm cache: API token → user, and the session's user.

Both go through ``config.cache_aside`` (three guards; an unknown token is cached as "none"
briefly). A miss loads from the **primary**, never the replica: a token deleted a moment ago must
not be read back from a lagging replica and cached again. Every change that must take effect at
once (a token created or deleted, a user saved or deleted: deactivated, password changed, made
staff) writes a new version of the entries' version keys after its commit, so the next request
loads anew and a copy loaded before the change, even one written back by a slow request after
it, is never served.

What is cached: for a token, the user's id and ``is_active``; for a session, the user's row without
its password hash, plus the session's check value (as the session's own data already lives in Redis).
"""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authtoken.models import Token

from config.cache_aside import cached, invalidate

logger = logging.getLogger(__name__)

FRESH_SECONDS = 60  # every change invalidates at once; this bounds a lost invalidation
STALE_SECONDS = 60
MISSING_SECONDS = 5
PRIMARY = "default"


def _token_tag(key: str) -> str:
    # Hashed: the cache's key names need not spell out credentials.
    return "{t" + hashlib.sha256(key.encode()).hexdigest()[:32] + "}"


def _token_version_key(key: str) -> str:
    return f"auth:{_token_tag(key)}:v"


def _user_version_key(user_id: int) -> str:
    return f"auth:{{u{int(user_id)}}}:v"


def _token_sql(connection) -> str:
    q = connection.ops.quote_name  # Token's primary key column is `key`, a reserved word in MariaDB
    user, token = get_user_model()._meta, Token._meta
    return (
        f"SELECT u.{q(user.pk.column)}, u.{q('is_active')} FROM {q(token.db_table)} t "
        f"JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = t.{q(token.get_field('user').column)} "
        f"WHERE t.{q(token.pk.column)} = %s"
    )


def token_owner(key: str) -> tuple[int, bool] | None:
    """(user id, is_active) of the token's user; None if there is no such token."""

    def load():
        # Why raw SQL: one join returning two columns; the ORM's query building cost more than
        # the query (docs/performance.md).
        connection = connections[PRIMARY]
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(connection), [key])
            row = cursor.fetchone()
        return None if row is None else (row[0], bool(row[1]))

    return cached(
        f"auth:{_token_tag(key)}:e",
        load,
        fresh_seconds=FRESH_SECONDS,
        stale_seconds=STALE_SECONDS,
        missing_seconds=MISSING_SECONDS,
        version_key=_token_version_key(key),
        single_flight_when_absent=False,  # one client sends its token: no herd to hold back
    )


def _user_fields() -> list[str]:
    """Every column of the user but the password hash, which never goes to the cache."""
    return [f.attname for f in get_user_model()._meta.concrete_fields if f.attname != "password"]


def _user_copy(user_id: int) -> tuple[list, str] | None:
    user = get_user_model()._default_manager.using(PRIMARY).filter(pk=user_id).first()
    if user is None:
        return None
    return [getattr(user, name) for name in _user_fields()], user.get_session_auth_hash()


def user_row(user_id: int):
    """The user (every field but the password, loaded on first access), or None if there is none.

    The cache holds the session's check value (an HMAC of the password hash, what login stored in
    the session) instead of the password hash itself, so a reader of Redis learns no hash to crack."""
    copy = cached(
        f"auth:{{u{int(user_id)}}}:s",
        lambda: _user_copy(user_id),
        fresh_seconds=FRESH_SECONDS,
        stale_seconds=STALE_SECONDS,
        missing_seconds=MISSING_SECONDS,
        version_key=_user_version_key(user_id),
        single_flight_when_absent=False,
    )
    if copy is None:
        return None
    values, session_hash = copy
    user = get_user_model().from_db(PRIMARY, _user_fields(), values)
    # Why an instance attribute: django.contrib.auth.get_user checks the session against this; the
    # cached HMAC answers it without the password (a key rotation's fallback check loads it).
    user.get_session_auth_hash = lambda: session_hash
    return user


def _invalidate_after_commit(keys: list[str], using: str) -> None:
    def run():
        try:
            invalidate(keys)
        except Exception:  # Redis away: the copies age out within FRESH_SECONDS + STALE_SECONDS
            logger.error("could not invalidate cached credentials", exc_info=True)

    transaction.on_commit(run, using=using, robust=True)


def _token_changed(sender, instance: Token, using: str, **kwargs) -> None:
    _invalidate_after_commit([_token_version_key(instance.key)], using)


def _user_changed(sender, instance, using: str, **kwargs) -> None:
    keys = [_user_version_key(instance.pk)]
    # A token's entry carries is_active: deactivating the user must end the token's entry too.
    tokens = Token.objects.using(using).filter(user_id=instance.pk).values_list("key", flat=True)
    keys += [_token_version_key(k) for k in tokens]
    _invalidate_after_commit(keys, using)


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_token_changed, sender=Token, dispatch_uid="config.auth_cache.token")
        signal.connect(_user_changed, sender=get_user_model(), dispatch_uid="config.auth_cache.user")
