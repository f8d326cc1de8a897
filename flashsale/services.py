"""Writes of the shopper's path: purchase tokens and purchases."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings

from config.db_router import pinned_to_primary
from config.errors import ServiceUnavailable
from flashsale.errors import SCRIPT_REFUSALS, BadToken, SaleNotFound
from flashsale.models import FlashSale
from flashsale.ratelimits import RateLimited, purchase_windows
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


def purchase_script_call(*, sale_id: int, user_id: int, quantity: int, nonce: str, reservation_id: str,
                         fingerprint: str = "", idem_key: str | None = None, client_ip: str = "",
                         windows: tuple[int, int, int, int] = (0, 0, 0, 0)) -> tuple[list, list]:
    """KEYS and ARGV of purchase.lua (its header documents both); the bench pre-fills through this too."""
    keys = sale_keys(sale_id)
    cfg = settings.FLASHSALE
    return (
        [keys.meta, keys.stock, keys.bought, keys.token(user_id), keys.idem(user_id, idem_key or "-"), keys.stream,
         keys.res(reservation_id), keys.kick, keys.stats, keys.rate_user(user_id), keys.rate_ip(client_ip or "-")],
        [user_id, quantity, nonce, reservation_id, fingerprint, cfg["IDEMPOTENCY_TTL"] * 1000,
         cfg["RESERVATION_TTL"] * 1000, cfg["KICK_DEBOUNCE_MS"], *windows],
    )


def purchase_accept(*, sale_id: int, quantity: int, token: str, idem_key: str | None, client_ip: str,
                    on_bad_token: Callable[[], None] | None = None) -> Accepted:
    """Reserve ``quantity`` for the user the purchase token names (the token is the credential).

    ``on_bad_token`` runs when the token is refused, before the refusal may cost a DB read (telling
    404 from 403): the view counts it against the client IP's limit there.
    """
    try:
        claims = token_verify(token, sale_id=sale_id)
    except BadToken:
        if on_bad_token is not None:
            on_bad_token()
        if not sale_exists(sale_id):
            raise SaleNotFound() from None
        raise
    rid = new_reservation_id(sale_id)
    keys, args = purchase_script_call(
        sale_id=sale_id, user_id=claims.user_id, quantity=quantity, nonce=claims.nonce, reservation_id=rid,
        fingerprint=_fingerprint(quantity, token) if idem_key else "", idem_key=idem_key, client_ip=client_ip,
        windows=purchase_windows(),
    )
    try:
        # One round trip: rate limits, idempotency, window, token, limit and stock, checked and taken atomically.
        code, detail, kick = scripts.purchase(keys=keys, args=args)
    except (redis.ConnectionError, redis.TimeoutError) as exc:  # includes BusyLoadingError (AOF reload)
        raise ServiceUnavailable() from exc
    if code == "OK":
        if kick:
            persist_kick(sale_id)  # debounced in the script; beat sweeps if this publish is lost
        return Accepted(reservation_id=detail, sale_id=sale_id)
    if code == "RATE_LIMITED":
        raise RateLimited.after_ms(int(detail))
    if code == "NOT_PREHEATED" and not sale_exists(sale_id):
        raise SaleNotFound()
    refusal = SCRIPT_REFUSALS.get(code)
    if refusal is None:
        raise ServiceUnavailable(f"unexpected purchase script answer {code!r}")
    raise refusal(details={"remaining": int(detail)} if code == "SOLD_OUT" and detail.isdigit() else None)
