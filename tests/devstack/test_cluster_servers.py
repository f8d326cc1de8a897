"""devstack's Redis Cluster: 3 masters and a replica each (what a failover test needs), in seconds.

No Django here. Run: .venv/bin/python -m pytest -p no:django tests/devstack -q -s
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import redis

from devstack import RedisClusterServers


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    with RedisClusterServers(tmp_path_factory.mktemp("cluster"), masters=3, replicas=1, appendonly=False) as started:
        yield started


def _nodes(cluster: RedisClusterServers) -> dict:
    with contextlib.closing(cluster.masters()[0].client()) as c:
        return c.cluster("NODES")


def test_it_has_three_masters(cluster):
    assert len(cluster.masters()) == 3


def test_every_master_has_a_replica(cluster):
    nodes = _nodes(cluster).values()
    masters = {n["node_id"] for n in nodes if "master" in n["flags"]}
    assert {n["master_id"] for n in nodes if "slave" in n["flags"]} == masters


def test_a_write_waited_for_on_its_master_s_connection_reaches_a_replica(cluster):
    client = redis.RedisCluster.from_url(cluster.url, decode_responses=True)
    try:
        node = client.get_node_from_key("fs:{1}:stock")
        # The write and WAIT on one connection to the slot's master: a bare client.wait() would go to
        # a default node, and WAIT counts the replicas holding this connection's writes.
        pipe = client.get_redis_connection(node).pipeline(transaction=False)
        pipe.set("fs:{1}:stock", 7)
        pipe.wait(1, 2000)
        _, acked = pipe.execute()
    finally:
        client.close()
    assert acked == 1


def test_a_restarted_replica_rejoins_and_syncs(cluster):
    replica = next(n for n in cluster.nodes if n not in cluster.masters())
    replica.restart()
    cluster.wait_ok(20)
    assert replica.replica_synced()
