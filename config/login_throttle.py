"""Password guessing meets a growing wait: per client network and per account, on every login form.

Each failed login counts against the client's rate bucket (its IPv4 address or IPv6 /64) and the
account it named. Past the free attempts, the next attempt waits 1 s, then 2, 4, ... up to
LOGIN_MAX_DELAY_SECONDS: a throttle, never a lockout, so nobody can lock an operator out in the
middle of a sale. A waiting attempt is answered 429 before the password is hashed, so a guessing
client cannot starve the web workers either.

How an operator gets in while their account is under attack: a browser that has logged in to an
account before carries a signed "known device" cookie for it, and the account's throttle does not
apply to it (the network's still does). From any other browser they wait at most the cap.
"""

from __future__ import annotations

import functools
import hashlib
import logging

import redis
from django.conf import settings
from django.core import signing
from django.shortcuts import render

from config.client_ip import client_rate_bucket
from config.redis import get_redis
from config.scripts import script

logger = logging.getLogger(__name__)
DEVICE_COOKIE = "login_device"
DEVICE_SALT = "config.login-device"
DEVICE_MAX_AGE = 60 * 60 * 24 * 90


def _account(username: str) -> str:
    # Hashed: a key per account name must not spell out every name that was ever guessed.
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def _known_device(request, account: str) -> bool:
    try:
        known = request.get_signed_cookie(DEVICE_COOKIE, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except (KeyError, signing.BadSignature):
        return False
    return account in known.split(",")


def _keys(request, account: str, *, known_device: bool) -> list[tuple[str, str, int]]:
    """(failure counter, block key, free attempts) of the network and, unless known, the account."""
    cfg = settings.LOGIN_THROTTLE
    net = client_rate_bucket(request)
    keys = [(f"login:fail:net:{net}", f"login:block:net:{net}", cfg["FREE_PER_NETWORK"])]
    if not known_device:
        keys.append((f"login:fail:acct:{account}", f"login:block:acct:{account}", cfg["FREE_PER_ACCOUNT"]))
    return keys


def _wait_ms(keys) -> int:
    pipe = get_redis().pipeline(transaction=False)
    for _, block, _ in keys:
        pipe.pttl(block)
    return max(0, *pipe.execute())


def _count_failure(keys) -> None:
    cfg = settings.LOGIN_THROTTLE
    pipe = get_redis().pipeline(transaction=False)
    for counter, block, free in keys:
        # Why a script: the count and the block it earns must move together.
        script("login_failure")(
            keys=[counter, block],
            args=[free, cfg["FIRST_DELAY_MS"], cfg["MAX_DELAY_SECONDS"] * 1000, cfg["WINDOW_SECONDS"] * 1000],
            client=pipe,
        )
    pipe.execute()


def _too_many(request, wait_ms: int):
    retry_after = max(1, -(-wait_ms // 1000))
    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _remember_device(request, response, account: str) -> None:
    try:
        known = request.get_signed_cookie(DEVICE_COOKIE, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE).split(",")
    except (KeyError, signing.BadSignature):
        known = []
    accounts = ",".join(dict.fromkeys([account, *known][:5]))  # a few accounts per browser at most
    response.set_signed_cookie(
        DEVICE_COOKIE,
        accounts,
        salt=DEVICE_SALT,
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def login_throttled(view):
    """Wrap a login view (Django's LoginView, the admin's login): throttle its failed POSTs."""

    @functools.wraps(view)
    def throttled(request, *args, **kwargs):
        if request.method != "POST" or not settings.RATELIMIT_ENABLE:
            return view(request, *args, **kwargs)
        account = _account(request.POST.get("username", ""))
        keys = _keys(request, account, known_device=_known_device(request, account))
        try:
            wait_ms = _wait_ms(keys)
        except redis.RedisError:  # the throttle only saves work: a login must still work without it
            logger.warning("login throttle unavailable", exc_info=True)
            return view(request, *args, **kwargs)
        if wait_ms > 0:
            return _too_many(request, wait_ms)
        response = view(request, *args, **kwargs)
        if request.user.is_authenticated:
            get_redis().delete(f"login:fail:acct:{account}")
            _remember_device(request, response, account)
        elif response.status_code == 200:  # the form came back with an error: a failed attempt
            try:
                _count_failure(keys)
            except redis.RedisError:
                logger.warning("login throttle could not count a failure", exc_info=True)
        return response

    return throttled
