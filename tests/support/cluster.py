"""The test Redis Cluster: point this process at one, where keys land, tags that spread."""

from __future__ import annotations

import contextlib

import redis
from redis.crc import key_slot

from config.redis import reset_redis


@contextlib.contextmanager
def use_redis_cluster(cluster, settings, monkeypatch):
    """This process's Redis (``get_redis()``, the cache) and the environment of the processes a test
    starts, on ``cluster`` (a devstack RedisClusterServers: the session's, or a test's own with
    replicas), for the block. ``settings``/``monkeypatch``: the pytest fixtures, undone after the test."""
    settings.REDIS_URL, settings.REDIS_CLUSTER = cluster.url, True
    cache = {**settings.CACHES["default"], "BACKEND": "config.cluster_cache.RedisClusterCache", "LOCATION": cluster.url}
    settings.CACHES = {**settings.CACHES, "default": cache}
    monkeypatch.setenv("REDIS_URL", cluster.url)
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    reset_redis()
    try:
        yield cluster
    finally:
        reset_redis()


def master_of(client: redis.RedisCluster, key: str) -> str:
    """The name (host:port) of the master that owns ``key``'s slot."""
    return client.nodes_manager.get_node_from_slot(key_slot(key.encode())).name


def tags_on_distinct_masters(client: redis.RedisCluster, key_of, candidates) -> dict[str, object]:
    """Master name -> the first candidate whose key (``key_of(candidate)``) it owns, one per master.

    Why: consecutive sale ids (or bucket tags) need not hash to different masters; a test that
    claims a spread must pick its ids by where they land."""
    found: dict[str, object] = {}
    masters = {node.name for node in client.get_primaries()}
    for candidate in candidates:
        found.setdefault(master_of(client, key_of(candidate)), candidate)
        if set(found) == masters:
            break
    return found
