"""Django's cache on the Redis Cluster (config/cluster_cache.py): every operation the app and its
cache-aside reads use, with keys spread over the masters."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches

from config.cluster_cache import RedisClusterCache
from config.redis import get_redis
from inventory.redis_schema import sale_keys
from tests.support.cluster import master_of

pytestmark = pytest.mark.usefixtures("redis_cluster")
KEYS = [f"k{i}" for i in range(30)]  # thirty names: their slots fall on every master


def test_the_cache_on_the_cluster_is_the_cluster_backend():
    assert isinstance(caches["default"], RedisClusterCache)


def test_the_many_keys_of_these_tests_fall_on_every_master():
    assert len({master_of(get_redis(), cache.make_key(k)) for k in KEYS}) == 3


def test_set_get_and_delete_round_trip_any_value():
    cache.set("row", {"id": 7, "name": "phone"}, 30)
    assert cache.get("row") == {"id": 7, "name": "phone"}
    assert cache.delete("row") is True
    assert cache.get("row", "gone") == "gone"


def test_add_is_refused_while_the_key_exists():
    assert cache.add("lock", 1, 30) is True
    assert cache.add("lock", 2, 30) is False
    assert cache.get("lock") == 1


def test_incr_adds_to_an_existing_key_and_refuses_a_missing_one():
    cache.set("hits", 5, 30)
    assert cache.incr("hits", 3) == 8
    with pytest.raises(ValueError):
        cache.incr("no-such-key")


def test_touch_and_has_key():
    cache.set("page", "html", 30)
    assert cache.touch("page", 60) is True
    assert cache.has_key("page")
    assert not cache.touch("missing", 60)


def test_many_keys_across_slots_are_set_read_and_deleted():
    cache.set_many({k: i for i, k in enumerate(KEYS)}, 30)
    assert cache.get_many(KEYS + ["absent"]) == {k: i for i, k in enumerate(KEYS)}
    cache.delete_many(KEYS[:10])
    assert sorted(cache.get_many(KEYS)) == sorted(KEYS[10:])


def test_clear_deletes_the_cache_keys_on_every_master_and_leaves_the_sales_alone():
    cache.set_many({k: 1 for k in KEYS}, 30)
    get_redis().set(sale_keys(3).stock, 9)
    cache.clear()
    assert cache.get_many(KEYS) == {}
    assert get_redis().get(sale_keys(3).stock) == "9"


def test_a_zero_timeout_stores_nothing():
    cache.set("brief", 1, 0)
    assert not cache.has_key("brief")
