"""Where keys land on the test Redis Cluster: which master owns a slot, and tags that spread."""

from __future__ import annotations

import redis
from redis.crc import key_slot


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
