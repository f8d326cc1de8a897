"""The process's Redis client for stock, tokens and the reservation stream."""
from __future__ import annotations

import functools

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry


@functools.cache
def get_redis() -> redis.Redis:
    # Why no retries: re-sending a purchase script after a timeout could run it twice. Callers
    # that can safely repeat a call (idempotent reads, the guarded settle) do so themselves.
    return redis.Redis.from_url(
        settings.REDIS_URL,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        max_connections=200,
    )


def reset_redis() -> None:
    """Forget the cached client (tests point REDIS_URL elsewhere; forked workers reconnect)."""
    get_redis.cache_clear()
