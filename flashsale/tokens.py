"""One-time purchase tokens: signed (django.core.signing) and bound to user + sale; the nonce inside
is kept in Redis with a TTL and spent by the purchase script, so a token works once.

The token is also the purchase's credential: it names the user it was minted for (by the token
endpoint, for an authenticated user only), so the purchase endpoint needs no session or user row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from flashsale.errors import BadToken

SALT = "flashsale.purchase-token"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    sale_id: int
    nonce: str


def token_sign(*, user_id: int, sale_id: int) -> tuple[str, str]:
    nonce = secrets.token_urlsafe(16)
    return signing.dumps({"u": user_id, "s": sale_id, "n": nonce}, salt=SALT), nonce


def token_verify(token: str, *, sale_id: int) -> TokenClaims:
    """The claims of a token we signed less than TOKEN_TTL ago for this sale; BadToken otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.FLASHSALE["TOKEN_TTL"])
    except signing.BadSignature:  # also SignatureExpired
        raise BadToken() from None
    if not isinstance(data, dict) or data.get("s") != sale_id:
        raise BadToken()
    user_id, nonce = data.get("u"), data.get("n")
    if type(user_id) is not int or user_id < 1 or not isinstance(nonce, str) or not nonce:
        raise BadToken()
    return TokenClaims(user_id=user_id, sale_id=sale_id, nonce=nonce)
