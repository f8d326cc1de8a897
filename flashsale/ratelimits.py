"""Per-user and per-IP rate limits of the token, purchase and captcha endpoints, in Redis.

Fixed windows (FLASHSALE_RATE_USER, FLASHSALE_RATE_IP, FLASHSALE_RATE_CAPTCHA; ``N/s|m|h|d``),
shared by every web process, a client counted by its network (config/client_ip.py). The purchase
counts its two windows inside purchase.lua, in its one round trip (``purchase_windows``); the token
and captcha endpoints, and a purchase whose token is refused before the script runs, count theirs
with ratelimit.lua, all counters in one pipelined round trip (``enforce_rate_limits``). Logins have
a throttle of their own (config/login_throttle.py). A refusal is 429 ``rate_limited`` with
``Retry-After`` (seconds left in the window).
"""

from __future__ import annotations

import functools
import math
import re

from django.conf import settings

from config.client_ip import client_rate_bucket
from config.errors import ApplicationError
from config.redis import get_redis
from flashsale.scripts import script

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


class RateLimited(ApplicationError):
    code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = max(1, retry_after)

    @classmethod
    def after_ms(cls, milliseconds: int) -> RateLimited:
        return cls(retry_after=math.ceil(milliseconds / 1000))


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


def enforce_rate_limits(request, group: str, *, user_id: int | None, ip_rate: str | None = None) -> None:
    """Count this request against the user's window (if known) and the client IP's; RateLimited past either.

    Why both: a user with many IPs is caught by the first, many accounts behind one IP by the second.
    Counters are global, not per sale, so spraying sale ids escapes nothing. ``ip_rate`` replaces
    FLASHSALE_RATE_IP for this group (the captcha has a rate of its own).
    """
    if not settings.RATELIMIT_ENABLE:
        return
    cfg = settings.FLASHSALE
    counters = [(f"rl:{group}:ip:{client_rate_bucket(request)}", ip_rate or cfg["RATE_IP"])]
    if user_id is not None:
        counters.append((f"rl:{group}:u:{user_id}", cfg["RATE_USER"]))
    pipe = get_redis().pipeline(transaction=False)
    for key, rate in counters:
        # One single-key script per counter (Cluster-legal), all in one round trip.
        script("ratelimit")(keys=[key], args=list(parse_rate(rate)), client=pipe)
    left = max(pipe.execute())
    if left > 0:
        raise RateLimited.after_ms(left)
