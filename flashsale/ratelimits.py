"""Per-user and per-IP rate limits on the token and purchase endpoints (django-ratelimit).

Counters live in the shared django-redis cache, so a limit holds across every web process.
A refusal is 429 ``rate_limited`` with ``Retry-After`` (the seconds left in the window).
"""
from __future__ import annotations

from django.conf import settings
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from config.client_ip import client_ip
from config.errors import ApplicationError


class RateLimited(ApplicationError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down."

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = max(1, retry_after)


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
