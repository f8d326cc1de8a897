"""Writes of the shopper's path (purchase tokens, purchases) and of the sale's kill switch."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from config.errors import ServiceUnavailable
from config.redis import UNAVAILABLE as REDIS_UNAVAILABLE
from config.redis import get_redis
from flashsale.errors import SCRIPT_REFUSALS, BadToken, NotAdmitted, NotLive, SaleNotFound, SaleNotPreheated
from flashsale.models import FlashSale
from flashsale.persister_wakeup import persister_wake
from flashsale.ratelimits import RateLimited, purchase_windows
from flashsale.selectors import sale_get_cached, sale_known_cached
from flashsale.tokens import token_sign, token_verify
from inventory.purchase import BUSY, PurchaseAsk, stock_take
from inventory.redis_schema import reservation_id_new, sale_keys
from inventory.services import purchase_token_store, selling_state_set

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class Accepted:
    reservation_id: str
    sale_id: int


def sale_exists(sale_id: int) -> bool:
    """For refusal paths only: Redis first (a preheated sale exists), then the primary behind the
    cache (an unknown id's answer is cached briefly, so a flood on unknown sales stays off the DB)."""
    if get_redis().exists(sale_keys(sale_id).meta):
        return True
    return sale_known_cached(sale_id=sale_id)


def _refuse_not_in_redis(sale_id: int, *, unavailable: type) -> None:
    """Redis holds nothing for the sale. An ended one whose keys expired after its end is told so
    (409 not_live, from the cached sale row), never 503; an unknown one is 404; any other is not
    preheated (yet, or Redis lost it): ``unavailable``, the 503 that says "try again"."""
    # The cheap question first: an unknown id costs one (cached) query, not two.
    if not sale_exists(sale_id):
        raise SaleNotFound()
    sale = sale_get_cached(sale_id=sale_id)
    if sale is not None and sale.phase == "ended":
        raise NotLive(_("This sale has ended."), details={"phase": "ended"})
    if sale is not None and sale.phase == "scheduled":  # published, preheated by beat before its start
        raise NotLive(_("This sale has not started yet."), details={"phase": "scheduled"})
    raise unavailable()


def purchase_token_issue(*, sale_id: int, user_id: int) -> IssuedToken:
    token, nonce = token_sign(user_id=user_id, sale_id=sale_id)
    ttl = settings.FLASHSALE["TOKEN_TTL"]
    try:
        lives = purchase_token_store(sale_id=sale_id, user_id=user_id, nonce=nonce, ttl_seconds=ttl)
    except REDIS_UNAVAILABLE as exc:
        raise ServiceUnavailable() from exc
    if lives < 0:
        raise NotAdmitted()  # the sale has a waiting room and this user is not admitted now
    if lives == 0:
        _refuse_not_in_redis(sale_id, unavailable=ServiceUnavailable)
    return IssuedToken(token=token, expires_in=lives)


def _fingerprint(quantity: int, token: str) -> str:
    return hashlib.sha256(f"{quantity}|{token}".encode()).hexdigest()[:32]


def purchase_ask(
    *,
    sale_id: int,
    user_id: int,
    quantity: int,
    nonce: str,
    reservation_id: str,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    ip_bucket: str = "",
    rate_windows: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> PurchaseAsk:
    """What the purchase script is asked, with this deployment's TTLs and debounce."""
    cfg = settings.FLASHSALE
    return PurchaseAsk(
        sale_id=sale_id,
        user_id=user_id,
        quantity=quantity,
        nonce=nonce,
        reservation_id=reservation_id,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        ip_bucket=ip_bucket,
        idempotency_ttl_ms=cfg["IDEMPOTENCY_TTL"] * 1000,
        reservation_ttl_ms=cfg["RESERVATION_TTL"] * 1000,
        wakeup_debounce_ms=cfg["KICK_DEBOUNCE_MS"],
        rate_windows=rate_windows,
        hold_ms=settings.ORDER_PAYMENT_TIMEOUT * 1000,
    )


def purchase_accept(
    *,
    sale_id: int,
    quantity: int,
    token: str,
    idem_key: str | None,
    ip_bucket: str,
    on_bad_token: Callable[[], None] | None = None,
) -> Accepted:
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
    ask = purchase_ask(
        sale_id=sale_id,
        user_id=claims.user_id,
        quantity=quantity,
        nonce=claims.nonce,
        reservation_id=reservation_id_new(sale_id),  # bucket 0's form; stock_take renames it for the home bucket
        idempotency_key=idem_key,
        fingerprint=_fingerprint(quantity, token) if idem_key else "",
        ip_bucket=ip_bucket,
        rate_windows=purchase_windows(),
    )
    try:
        code, detail, wake = stock_take(ask)
    except REDIS_UNAVAILABLE as exc:  # includes BusyLoadingError (AOF reload)
        raise ServiceUnavailable() from exc
    if code == "OK":
        if wake:
            persister_wake(sale_id)  # debounced in the script; beat sweeps if this publish is lost
        return Accepted(reservation_id=detail, sale_id=sale_id)
    if code == BUSY:
        raise ServiceUnavailable(_("The sale's units kept moving to other shoppers; please try again."))
    if code == "RATE_LIMITED":
        raise RateLimited.after_ms(int(detail))
    if code == "NOT_PREHEATED":
        _refuse_not_in_redis(sale_id, unavailable=SCRIPT_REFUSALS["NOT_PREHEATED"])
    refusal = SCRIPT_REFUSALS.get(code)
    if refusal is None:
        logger.error("unexpected purchase script answer %r", code)
        raise ServiceUnavailable()  # the shopper hears the usual (translated) "try again shortly"
    raise refusal(details={"remaining": int(detail)} if code == "SOLD_OUT" and detail.isdigit() else None)


def _sale_selling_set(sale_id: int, *, selling: bool) -> None:
    """The kill switch: the sale's state in the DB and, at once, in Redis."""
    with transaction.atomic(using="default"):
        # Why lock the sale row: a concurrent preheat must not write the state this changes.
        sale = FlashSale.objects.select_for_update().get(pk=sale_id)
        if sale.state in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED):
            raise SaleNotPreheated()  # a published sale is preheated by beat; pausing it first would skip that
        sale.state = FlashSale.State.SCHEDULED if selling else FlashSale.State.PAUSED
        sale.save(update_fields=["state"])
        selling_state_set(sale_id=sale_id, selling=selling)


def sale_pause(*, sale_id: int) -> None:
    """Refuse every purchase of the sale from now on (the kill switch)."""
    _sale_selling_set(sale_id, selling=False)


def sale_resume(*, sale_id: int) -> None:
    """Sell again after a pause."""
    _sale_selling_set(sale_id, selling=True)
