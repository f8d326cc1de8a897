"""A write held by replicas before it is answered: the script and ``WAIT`` on one connection.

With ``REDIS_REPLICA_ACKS`` > 0 a stock-taking script goes, with ``WAIT <acks> <timeout>`` right
after it, to the master that owns its keys' slot, on that master's own connection and in one round
trip (``script_then_wait``). ``WAIT`` cannot run inside a script, counts the replicas holding the
writes of *its* connection, and redis-py's cluster client would send a bare ``WAIT`` to a default
node and add up the replies of several: hence one plain pipeline on the slot master's client.

Each process keeps one reading per master of whether it has enough replicas (``replicas_short``):
a WAIT that got its acks refreshes it for free; one that did not, or a reading older than
``READING_SECONDS`` that said "short", asks the master (``INFO replication``), so a purchase never
pays an extra round trip while the node is healthy, and at most one a second per master while not.
``/readyz`` reads the same (``replica_acks_problem``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.conf import settings

from config.redis import ProjectScript, get_redis, keys_slot_check, redis_masters

READING_SECONDS = 1.0  # a "too few replicas" reading is trusted this long, then asked again
REMAP_SECONDS = 0.5  # at most one slot-map refresh per process in this time (a failover storm)
REDIRECTED = (redis.exceptions.MovedError, redis.exceptions.AskError, redis.exceptions.TryAgainError)


@dataclass(frozen=True)
class Reading:
    at: float  # time.monotonic()
    online: int  # replicas in sync ("online") with the master, or those that acknowledged a WAIT


_readings: dict[str, Reading] = {}  # master name (host:port) -> its last reading
_remap_lock = threading.Lock()
_remapped_at = float("-inf")


def acks_required() -> int:
    return settings.REDIS_REPLICA_ACKS


def slot_master(key: str) -> tuple[str, redis.Redis]:
    """(name, client) of the master owning ``key``: the one server, or the cluster slot's master."""
    client = get_redis()
    if isinstance(client, redis.RedisCluster):
        node = client.get_node_from_key(key)
        return node.name, client.get_redis_connection(node)
    kwargs = client.connection_pool.connection_kwargs
    return f"{kwargs.get('host')}:{kwargs.get('port')}", client


def _online_replicas(master: redis.Redis) -> int:
    info = master.info("replication")
    slaves = (value for name, value in info.items() if name.startswith("slave") and isinstance(value, dict))
    return sum(1 for replica in slaves if replica.get("state") == "online")


def replicas_short(name: str, master: redis.Redis) -> bool:
    """True while ``master`` has fewer replicas in sync than REDIS_REPLICA_ACKS (per-process reading)."""
    reading = _readings.get(name)
    if reading is not None and reading.online >= acks_required():
        return False  # the last WAIT got its acks: no question asked until one does not
    if reading is None or time.monotonic() - reading.at >= READING_SECONDS:
        reading = _readings[name] = Reading(time.monotonic(), _online_replicas(master))
    return reading.online < acks_required()


def note_acks(name: str, master: redis.Redis, acked: int) -> None:
    """Record a WAIT's answer; if it fell short, ask the master how many replicas it has in sync."""
    if acked >= acks_required():
        _readings[name] = Reading(time.monotonic(), acked)
        return
    # Too few in time: a lagging replica (the next purchase tries again) or a missing one (refuse
    # for a second without running the script). Asked once here, on the failure path only.
    _readings[name] = Reading(time.monotonic(), _online_replicas(master))


def script_then_wait(script: ProjectScript, keys: Sequence[str], args: Sequence) -> tuple[object, int]:
    """Run ``script`` and ``WAIT`` in one round trip on the slot master: (the script's reply, acks).

    Raises what the connection raises (ConnectionError, TimeoutError: the script may have run or
    not; never re-sent) and ClusterDownError on a redirection (the slot moved: nothing ran)."""
    keys = list(keys)
    if settings.REDIS_SLOT_CHECK:
        keys_slot_check(script.name, keys)
    name, master = slot_master(keys[0])
    try:
        reply, acked = _send(script, master, keys, args)
    except (redis.ConnectionError, redis.TimeoutError):
        _remap(failed=name)
        raise
    if isinstance(reply, REDIRECTED):
        _remap(moved=reply)
        raise redis.exceptions.ClusterDownError(f"slot moved: {reply}")
    if isinstance(reply, Exception):
        raise reply
    note_acks(name, master, acked)
    return reply, acked


def _send(script: ProjectScript, master: redis.Redis, keys: list[str], args: Sequence) -> tuple[object, int]:
    registered = script.registered
    for _ in range(2):
        pipe = master.pipeline(transaction=False)
        # Why EVALSHA by hand: a registered script in a pipeline sends SCRIPT EXISTS first (a round trip).
        pipe.execute_command("EVALSHA", registered.sha, len(keys), *keys, *args)
        pipe.execute_command("WAIT", acks_required(), settings.REDIS_REPLICA_ACK_TIMEOUT_MS)
        reply, acked = pipe.execute(raise_on_error=False)
        if not isinstance(reply, redis.exceptions.NoScriptError):
            return reply, acked if isinstance(acked, int) else 0
        # NOSCRIPT: nothing ran (a restarted or promoted node), so sending it once more is safe.
        registered.sha = master.script_load(registered.script)
    raise redis.exceptions.NoScriptError(f"{script.name}.lua: NOSCRIPT after loading it")


def _remap(*, failed: str | None = None, moved: Exception | None = None) -> None:
    """Let the cluster client find the slot's new owner (a failover), at most once per REMAP_SECONDS."""
    global _remapped_at
    client = get_redis()
    if not isinstance(client, redis.RedisCluster):
        return
    if isinstance(moved, redis.exceptions.MovedError):
        client.nodes_manager.move_slot(moved)  # the redirection names the owner: no discovery needed
        return
    if time.monotonic() - _remapped_at < REMAP_SECONDS or not _remap_lock.acquire(blocking=False):
        return
    try:
        _remapped_at = time.monotonic()
        client.nodes_manager.initialize(last_failed_node_name=failed)
    except redis.RedisError:
        pass  # no node answered the discovery: the next failure asks again
    finally:
        _remap_lock.release()


def replica_acks_problem() -> str:
    """For /readyz: '' when every master has the replicas REDIS_REPLICA_ACKS asks (or it is 0),
    else which masters are short. Reads each master at most once a second (the shared readings)."""
    if acks_required() == 0:
        return ""
    client = get_redis()
    short = []
    for master in redis_masters(client):
        kwargs = master.connection_pool.connection_kwargs
        name = f"{kwargs.get('host')}:{kwargs.get('port')}"
        reading = _readings.get(name)
        if reading is None or time.monotonic() - reading.at >= READING_SECONDS:
            reading = _readings[name] = Reading(time.monotonic(), _online_replicas(master))
        if reading.online < acks_required():
            short.append(name)
    # Counts only: the reason is shown to whoever reaches the probe, so no host names.
    # i18n: a /readyz reason, read by probes and load balancers like the rest of config/health.py
    return f"{len(short)} master(s) with fewer than {acks_required()} replica(s) in sync" if short else ""


def readings_forget() -> None:
    """Drop every reading (tests that fail a node over, or change the setting)."""
    _readings.clear()
