"""Writes of the shopper's path: purchase tokens and purchases."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import redis
from django.conf import settings

from config.db_router import pinned_to_primary
from config.errors import ServiceUnavailable
from flashsale.errors import SCRIPT_REFUSALS, BadToken, SaleNotFound
from flashsale.models import FlashSale
from flashsale.tokens import token_sign, token_verify
from inventory import scripts
from inventory.keys import sale_keys
from inventory.redis_client import get_redis
from orders.kick import persist_kick


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class Accepted:
    reservation_id: str
    sale_id: int


def new_reservation_id(sale_id: int) -> str:
    # The sale id travels in the id so a status lookup finds the sale's Redis keys with no DB read.
    return f"{sale_id}-{secrets.token_hex(12)}"


def sale_exists(sale_id: int) -> bool:
    """For refusal paths only: Redis first (a preheated sale exists), then the replica, then the primary."""
    if get_redis().exists(sale_keys(sale_id).meta):
        return True
    if FlashSale.objects.filter(pk=sale_id).exists():
        return True
    with pinned_to_primary():  # the replica may not have a sale created a moment ago
        return FlashSale.objects.filter(pk=sale_id).exists()


def purchase_token_issue(*, sale_id: int, user_id: int) -> IssuedToken:
    token, nonce = token_sign(user_id=user_id, sale_id=sale_id)
    ttl = settings.FLASHSALE["TOKEN_TTL"]
    keys = sale_keys(sale_id)
    try:
        # One round trip, and no database read: the token is stored only for a preheated sale.
        stored = scripts.token(keys=[keys.meta, keys.token(user_id), keys.stats], args=[nonce, ttl])
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ServiceUnavailable() from exc
    if not stored:
        raise ServiceUnavailable() if sale_exists(sale_id) else SaleNotFound()
    return IssuedToken(token=token, expires_in=ttl)


def _fingerprint(quantity: int, token: str) -> str:
    return hashlib.sha256(f"{quantity}|{token}".encode()).hexdigest()[:32]


def purchase_accept(*, sale_id: int, user_id: int, quantity: int, token: str, idem_key: str | None) -> Accepted:
    try:
        claims = token_verify(token, user_id=user_id, sale_id=sale_id)
    except BadToken:
        if not sale_exists(sale_id):
            raise SaleNotFound() from None
        raise
    keys = sale_keys(sale_id)
    rid = new_reservation_id(sale_id)
    cfg = settings.FLASHSALE
    try:
        # One round trip: idempotency, window, token, limit and stock are checked and taken atomically.
        code, detail, kick = scripts.purchase(
            keys=[keys.meta, keys.stock, keys.bought, keys.token(user_id), keys.idem(user_id, idem_key or "-"),
                  keys.stream, keys.res(rid), keys.kick, keys.stats],
            args=[user_id, quantity, claims.nonce, rid, _fingerprint(quantity, token) if idem_key else "",
                  cfg["IDEMPOTENCY_TTL"] * 1000, cfg["RESERVATION_TTL"] * 1000, cfg["KICK_DEBOUNCE_MS"]],
        )
    except (redis.ConnectionError, redis.TimeoutError) as exc:  # includes BusyLoadingError (AOF reload)
        raise ServiceUnavailable() from exc
    if code == "OK":
        if kick:
            persist_kick(sale_id)  # debounced in the script; beat sweeps if this publish is lost
        return Accepted(reservation_id=detail, sale_id=sale_id)
    if code == "NOT_PREHEATED" and not sale_exists(sale_id):
        raise SaleNotFound()
    refusal = SCRIPT_REFUSALS.get(code)
    if refusal is None:
        raise ServiceUnavailable(f"unexpected purchase script answer {code!r}")
    raise refusal(details={"remaining": int(detail)} if code == "SOLD_OUT" and detail.isdigit() else None)
