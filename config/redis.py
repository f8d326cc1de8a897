"""The process's Redis client, and the loader of the project's Lua scripts.

Every app reaches Redis through ``get_redis()``: a ``redis.Redis`` on one server, or with
``REDIS_CLUSTER=true`` a ``redis.RedisCluster`` that discovers the cluster from the one node
``REDIS_URL`` names. Scripts are files: ``LuaScripts(folder)`` reads a script once, resolves its
``--! include <file>`` lines (Redis 6.2, the embedded server, has no ``FUNCTION``, so scripts share
Lua code by text, at load time) and registers it once. A call sends EVALSHA and loads the script
again on NOSCRIPT (after a restart; on a cluster, on every master); in a cluster pipeline it goes
as EVAL (see ``ProjectScript``). Every call first checks that its keys share one cluster slot
(``REDIS_SLOT_CHECK``), on one server too, so a cross-slot script fails in every test, not only
on a cluster.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.cluster import ClusterPipeline
from redis.commands.core import Script
from redis.crc import key_slot
from redis.retry import Retry

INCLUDE = re.compile(r"^--! include (\S+)$", re.MULTILINE)
# Redis cannot take a write now: away, timing out, reloading its AOF (a ConnectionError), full under
# noeviction, or a read-only replica after a failover. "Unknown", never "sold out": answer 503.
UNAVAILABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,
)

# A script that takes stock must never be re-sent: a ClusterPipeline re-sends, one by one, the
# commands of a node whose reply timed out, whatever its retry setting. These go out on their own.
NEVER_PIPELINED_ON_CLUSTER = frozenset({"purchase"})


class CrossSlotKeys(redis.RedisError):
    """A script was called with keys of more than one cluster slot: a cluster would refuse it."""


@functools.cache
def get_redis() -> redis.Redis | redis.RedisCluster:
    # Why no retries: re-sending a purchase script after a timeout could run it twice. Callers
    # that can safely repeat a call (idempotent reads, the guarded settle) do so themselves.
    options = {
        "decode_responses": True,
        "socket_connect_timeout": 2,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "retry": Retry(NoBackoff(), 0),
        "max_connections": 200,
    }
    if settings.REDIS_CLUSTER:
        # retry=0 turns off RedisCluster's own re-sends on a timeout or a lost connection (10 by
        # default); MOVED/ASK/TRYAGAIN are still followed: the node refused, nothing ran.
        try:
            return redis.RedisCluster.from_url(settings.REDIS_URL, **options)
        except redis.exceptions.RedisClusterException as exc:
            # No node answered the discovery: as unavailable as a refused connection (503), and
            # not cached, so the next call tries again.
            raise redis.ConnectionError(str(exc)) from exc
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30, **options)


def reset_redis() -> None:
    """Forget the cached client (tests point REDIS_URL elsewhere; forked workers reconnect)."""
    get_redis.cache_clear()


def redis_masters(client: redis.Redis | redis.RedisCluster | None = None) -> list[redis.Redis]:
    """One client per master: the cluster's primaries, or the one server (for scans and flushes)."""
    client = client or get_redis()
    if isinstance(client, redis.RedisCluster):
        return [client.get_redis_connection(node) for node in client.get_primaries()]
    return [client]


def keys_slot_check(name: str, keys: Sequence[str]) -> None:
    """Refuse a call whose keys span two cluster slots (see REDIS_SLOT_CHECK)."""
    slots = {key_slot(key.encode()) for key in keys}
    if len(slots) > 1:
        raise CrossSlotKeys(f"{name}.lua called with keys of {len(slots)} cluster slots: {list(keys)}")


def lua_source(path: Path) -> str:
    """A script's text with its ``--! include`` lines replaced by the named files (relative to it)."""

    def expand(match: re.Match) -> str:
        return (path.parent / match.group(1)).read_text().rstrip("\n")

    return INCLUDE.sub(expand, path.read_text())


class ProjectScript:
    """One registered script: ``script(keys=[…], args=[…])``, or queued with ``client=pipe``."""

    def __init__(self, name: str, registered: Script):
        self.name = name
        self.registered = registered

    def __call__(self, keys: Sequence[str] = (), args: Sequence = (), client=None):
        keys = list(keys)
        if settings.REDIS_SLOT_CHECK:
            keys_slot_check(self.name, keys)
        if isinstance(client, ClusterPipeline):
            if self.name in NEVER_PIPELINED_ON_CLUSTER:
                raise ValueError(f"{self.name}.lua takes stock: call it on its own, never in a cluster pipeline")
            # Why EVAL: a ClusterPipeline blocks EVALSHA and cannot load a script on NOSCRIPT; the body
            # travels instead, still one round trip, and the server runs its cached compiled copy.
            return client.execute_command("EVAL", self.registered.script, len(keys), *keys, *args)
        # The current client, not the one the script was registered with: tests repoint REDIS_URL.
        return self.registered(keys=keys, args=list(args), client=client or get_redis())


class LuaScripts:
    """The scripts of one folder, each read and registered once; every call goes to the current client."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._registered = functools.cache(self._register)

    def _register(self, name: str) -> ProjectScript:
        return ProjectScript(name, get_redis().register_script(lua_source(self.folder / f"{name}.lua")))

    def __call__(self, name: str) -> ProjectScript:
        """The registered script (run it in a pipeline with ``script(n)(keys, args, client=pipe)``)."""
        return self._registered(name)
