"""Django's cache on a Redis Cluster (``REDIS_CLUSTER=true``), for the pages, sessions and rows.

django-redis has no cluster client, and Django's own ``RedisCache`` builds ``redis.Redis`` on a
connection pool. This backend keeps Django's ``RedisCache`` (its key making, timeouts and
serializer: integers stay plain for INCR, the rest is pickled) and gives it a ``RedisCluster``
client, with the operations that would touch keys of several slots made cluster-safe:

- ``get_many``/``set_many``/``delete_many``: one command per key, grouped by node by redis-py
  (``mget_nonatomic``, a pipeline, a DELETE split by slot): *not atomic* across keys, as
  everywhere on a cluster;
- ``incr``: one single-key script, atomic (Django's own checks EXISTS, then INCRs);
- ``clear``: deletes the keys under this cache's ``KEY_PREFIX`` on every master (SCAN), never a
  FLUSHDB: the cluster also holds the sales' stock.

Every other operation (add, get, set, touch, delete, has_key) is one single-key command.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.redis import lua_source, redis_masters

GLOB_SPECIAL = re.compile(r"[\\\[\]*?]")
INCR_IF_EXISTS = lua_source(Path(__file__).parent / "lua" / "cache_incr.lua")


@functools.cache
def _cluster(url: str, connect_timeout: float, timeout: float) -> redis.RedisCluster:
    # One client per process and URL: Django builds a cache object per thread, and each
    # RedisCluster discovers the cluster's nodes when made. No retries: an INCR must not run twice.
    return redis.RedisCluster.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=200,
    )


class RedisClusterCacheClient(RedisCacheClient):
    def __init__(self, servers, key_prefix: str, **options):
        super().__init__(servers, serializer=options.pop("serializer", None))
        self._key_prefix = key_prefix
        self._url = servers[0]  # one node: the client discovers the rest
        self._connect_timeout = options.get("SOCKET_CONNECT_TIMEOUT", 2)
        self._timeout = options.get("SOCKET_TIMEOUT", 2)

    def get_client(self, key=None, *, write=False) -> redis.RedisCluster:
        return _cluster(self._url, self._connect_timeout, self._timeout)

    def get_many(self, keys):
        keys = list(keys)
        values = self.get_client().mget_nonatomic(keys)  # grouped by slot, one round trip per node
        return {k: self._serializer.loads(v) for k, v in zip(keys, values) if v is not None}

    def set_many(self, data, timeout):
        pipe = self.get_client(write=True).pipeline(transaction=False)  # one SET per key, no MSET
        for key, value in data.items():
            if timeout == 0:
                pipe.delete(key)
            else:
                pipe.set(key, self._serializer.dumps(value), ex=timeout)
        pipe.execute()

    def delete_many(self, keys):
        pipe = self.get_client(write=True).pipeline(transaction=False)
        for key in keys:
            pipe.delete(key)  # a ClusterPipeline takes one key per DELETE
        pipe.execute()

    def incr(self, key, delta):
        # One script: the key's existence and its increment are one step (Django's RedisCache
        # reads EXISTS, then INCRs, and another process may delete the key in between).
        value = self.get_client(write=True).eval(INCR_IF_EXISTS, 1, key, delta)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def clear(self):
        pattern = GLOB_SPECIAL.sub(r"\\\g<0>", self._key_prefix) + ":*"  # the prefix taken literally
        for master in redis_masters(self.get_client(write=True)):
            batch = []
            for key in master.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) == 500:
                    self._delete_on(master, batch)
                    batch = []
            self._delete_on(master, batch)
        return True

    @staticmethod
    def _delete_on(master: redis.Redis, keys: list) -> None:
        pipe = master.pipeline(transaction=False)  # this master's keys, each DELETE its own slot
        for key in keys:
            pipe.delete(key)
        pipe.execute()


class RedisClusterCache(RedisCache):
    """``CACHES['default']['BACKEND'] = 'config.cluster_cache.RedisClusterCache'``; LOCATION: one node."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = functools.partial(RedisClusterCacheClient, key_prefix=self.key_prefix)
