"""The process's Redis client, and the loader of the project's Lua scripts.

Every app reaches Redis through ``get_redis()``. Scripts are files: ``LuaScripts(folder)`` reads a
script once, resolves its ``--! include <file>`` lines (Redis 6.2, the embedded server, has no
``FUNCTION``, so scripts share Lua code by text, at load time) and registers it with the client
once; ``register_script`` sends EVALSHA and loads the script again on NOSCRIPT (after a restart).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

INCLUDE = re.compile(r"^--! include (\S+)$", re.MULTILINE)
# Redis cannot take a write now: away, timing out, reloading its AOF (a ConnectionError), full under
# noeviction, or a read-only replica after a failover. "Unknown", never "sold out": answer 503.
UNAVAILABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
)


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


def lua_source(path: Path) -> str:
    """A script's text with its ``--! include`` lines replaced by the named files (relative to it)."""

    def expand(match: re.Match) -> str:
        return (path.parent / match.group(1)).read_text().rstrip("\n")

    return INCLUDE.sub(expand, path.read_text())


class LuaScripts:
    """The scripts of one folder, each read once and registered with the current client once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._registered = functools.cache(self._register)

    def _register(self, name: str, client_id: int) -> Script:
        return get_redis().register_script(lua_source(self.folder / f"{name}.lua"))

    def __call__(self, name: str) -> Script:
        """The registered script (run it in a pipeline with ``script(n)(keys, args, client=pipe)``)."""
        return self._registered(name, id(get_redis()))
