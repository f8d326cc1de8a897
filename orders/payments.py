"""A simulated payment gateway: it approves, unless told to decline (``?fail=1`` where
PAYMENT_FAIL_HOOK is on, or PAYMENT_GATEWAY_DECLINE)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Charge:
    approved: bool
    reference: str


def charge(*, order_id: int, amount, decline: bool = False) -> Charge:
    if decline or settings.PAYMENT_GATEWAY_DECLINE:
        return Charge(False, "")
    return Charge(True, f"sim_{order_id}_{secrets.token_hex(6)}")


def refund(*, reference: str) -> None:
    """The simulated gateway's refund of a charge whose order closed meanwhile: nothing to call."""
