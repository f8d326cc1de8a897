"""Per-user and per-IP rate limits.

Token endpoint: django-ratelimit on the shared django-redis cache, so a limit holds across every
web process. Purchase endpoint: the same two limits (FLASHSALE_RATE_USER, FLASHSALE_RATE_IP) are
counted inside purchase.lua, in the purchase's one round trip (see ``purchase_windows``); a
purchase whose token is refused before the script runs is counted per IP here instead.
A refusal is 429 ``rate_limited`` with ``Retry-After`` (the seconds left in the window).
"""
from __future__ import annotations

import functools
import math
import re

from django.conf import settings
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from config.client_ip import client_ip
from config.errors import ApplicationError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


class RateLimited(ApplicationError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down."

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = max(1, retry_after)

    @classmethod
    def after_ms(cls, milliseconds: int) -> RateLimited:
        return cls(retry_after=math.ceil(milliseconds / 1000))


def _user_key(group, request) -> str:
    return f"u{request.user.pk}"


def _ip_key(group, request) -> str:
    return client_ip(request)


def enforce_rate_limits(request, group: str) -> None:
    """Count this request against the user's and the IP's limits; raise RateLimited past either."""
    cfg = settings.FLASHSALE
    for key, rate in ((_user_key, cfg["RATE_USER"]), (_ip_key, cfg["RATE_IP"])):
        # Why both: a user with many IPs is caught by the first, many accounts on one IP by the second.
        usage = get_usage(request, group=f"{group}.{key.__name__}", key=key, rate=rate, method=ALL, increment=True)
        if usage is not None and usage["should_limit"]:
            raise RateLimited(retry_after=usage["time_left"])


def enforce_ip_rate_limit(request, group: str) -> None:
    """The per-IP limit alone, for callers that have no trustworthy user (a refused purchase token)."""
    usage = get_usage(request, group=f"{group}._ip_key", key=_ip_key, rate=settings.FLASHSALE["RATE_IP"],
                      method=ALL, increment=True)
    if usage is not None and usage["should_limit"]:
        raise RateLimited(retry_after=usage["time_left"])


@functools.lru_cache(maxsize=32)
def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/s"`` -> (10, 1000): the count and the window in milliseconds (``"5/10m"`` as django-ratelimit)."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"not a rate: {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit] * 1000


def purchase_windows() -> tuple[int, int, int, int]:
    """(user max, user window ms, IP max, IP window ms) for purchase.lua; zeros = no limit."""
    if not settings.RATELIMIT_ENABLE:
        return 0, 0, 0, 0
    return (*parse_rate(settings.FLASHSALE["RATE_USER"]), *parse_rate(settings.FLASHSALE["RATE_IP"]))
