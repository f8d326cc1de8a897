"""Password guessing meets a growing wait: per account, per client network, per known browser.

Every login attempt counts against the account it names and the client's rate bucket (its IPv4
address or IPv6 /64) before the password is checked; a successful one gives its count back. Past
the free attempts, the next attempt waits 1 s, then 2, 4, ... up to LOGIN_MAX_DELAY_SECONDS, and is
answered 429 before any password is hashed, so a guessing client cannot starve the web workers.

How an operator gets in while under attack: a browser that has logged in to an account before
carries a signed "known device" cookie for it. Its attempts for that account count in a bucket of
their own, so neither an attack on the account nor one from the operator's network (a shared
proxy or NAT) makes it wait. From any other browser the wait grows to the cap, and an attacker
who keeps guessing keeps it there: that is the price of not locking the account.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import unicodedata

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
DEVICE_ACCOUNTS = 5  # accounts remembered per browser


def _account(username: str) -> str:
    # Normalised as Django's login form normalises it (NFKC), so 'ａｄｍｉｎ' counts as 'admin'; hashed,
    # so a key per name does not spell out every name that was ever guessed.
    name = unicodedata.normalize("NFKC", username).strip().casefold()
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _device_accounts(request) -> list[str]:
    try:
        value = request.get_signed_cookie(DEVICE_COOKIE, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except (KeyError, signing.BadSignature):
        return []
    return value.split(",")


def _buckets(request, account: str) -> list[tuple[str, str, int]]:
    """(attempt counter, block key, free attempts) for this attempt."""
    cfg = settings.LOGIN_THROTTLE
    if account in _device_accounts(request):
        device = hashlib.sha256(request.COOKIES[DEVICE_COOKIE].encode()).hexdigest()[:32]
        return [(f"login:fail:{{dev:{device}}}", f"login:block:{{dev:{device}}}", cfg["FREE_PER_ACCOUNT"])]
    net = client_rate_bucket(request)
    return [
        (f"login:fail:{{net:{net}}}", f"login:block:{{net:{net}}}", cfg["FREE_PER_NETWORK"]),
        (f"login:fail:{{acct:{account}}}", f"login:block:{{acct:{account}}}", cfg["FREE_PER_ACCOUNT"]),
    ]


def _admit(buckets) -> int:
    """Count the attempt in every bucket that lets it through; the longest block in force, or 0."""
    cfg = settings.LOGIN_THROTTLE
    pipe = get_redis().pipeline(transaction=False)
    for counter, block, free in buckets:
        # Why a script: the check, the count and the block it earns must move together.
        script("login_attempt")(
            keys=[counter, block],
            args=[free, cfg["FIRST_DELAY_MS"], cfg["MAX_DELAY_SECONDS"] * 1000, cfg["WINDOW_SECONDS"] * 1000],
            client=pipe,
        )
    return max(pipe.execute())


def _give_back(buckets) -> None:
    """A successful login: its account's (or device's) failures are forgotten, its network's attempt returned."""
    pipe = get_redis().pipeline(transaction=False)
    for counter, block, _ in buckets:
        if ":{net:" in counter:
            pipe.decr(counter)
        else:
            pipe.delete(counter)  # one key per DELETE: a cluster pipeline takes no more
            pipe.delete(block)
    pipe.execute()


def _too_many(request, wait_ms: int):
    retry_after = max(1, -(-wait_ms // 1000))
    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _remember_device(request, response, account: str) -> None:
    accounts = ",".join(dict.fromkeys([account, *_device_accounts(request)][:DEVICE_ACCOUNTS]))
    response.set_signed_cookie(
        DEVICE_COOKIE,
        accounts,
        salt=DEVICE_SALT,
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def attempt_admit(request, username: str) -> tuple[list, int]:
    """For logins outside Django's views (the API token endpoint): count an attempt for this
    username and the client's network. Returns (buckets, wait in ms: 0 when it may go on)."""
    if not settings.RATELIMIT_ENABLE:
        return [], 0
    buckets = _buckets(request, _account(username))
    try:
        return buckets, _admit(buckets)
    except redis.RedisError:  # the throttle only saves work: a login must still work without it
        logger.warning("login throttle unavailable", exc_info=True)
        return [], 0


def attempt_succeeded(buckets) -> None:
    """The password was right: forget the account's failures, give the network its attempt back."""
    if not buckets:
        return
    try:
        _give_back(buckets)
    except redis.RedisError:
        logger.warning("login throttle could not forget an account's failures", exc_info=True)


def login_throttled(view):
    """Wrap a login view (Django's LoginView, the admin's login): throttle its POSTs."""

    @functools.wraps(view)
    def throttled(request, *args, **kwargs):
        if request.method != "POST" or not settings.RATELIMIT_ENABLE or request.user.is_authenticated:
            return view(request, *args, **kwargs)  # a logged-in user's POST checks no password here
        account = _account(request.POST.get("username", ""))
        buckets = _buckets(request, account)
        try:
            wait_ms = _admit(buckets)
        except redis.RedisError:  # the throttle only saves work: a login must still work without it
            logger.warning("login throttle unavailable", exc_info=True)
            return view(request, *args, **kwargs)
        if wait_ms > 0:
            return _too_many(request, wait_ms)
        response = view(request, *args, **kwargs)
        if request.user.is_authenticated and _account(request.user.get_username()) == account:
            try:
                _give_back(buckets)
            except redis.RedisError:
                logger.warning("login throttle could not forget an account's failures", exc_info=True)
            _remember_device(request, response, account)
        return response

    return throttled
