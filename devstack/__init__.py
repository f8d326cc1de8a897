"""Real throwaway servers (MariaDB primary+replica, Redis) and app process groups,
for tests, benchmarks and `make run`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._process import DIE_WITH_PARENT, ServerError
    from .mariadb_pair import MariaDBPair
    from .mariadb_server import MariaDBServer
    from .ports import free_port, free_ports, wait_for_port
    from .process_group import ProcessGroup
    from .rabbitmq import rabbitmq_reachable
    from .redis_cluster import RedisClusterServers
    from .redis_server import RedisServer
    from .stack import ServiceStack, mariadb_installed, start_services

# Why lazy: `python -m devstack.redis_server` imports this package first; an
# eager import of the same module would run it twice (runpy RuntimeWarning).
_EXPORTS = {
    "DIE_WITH_PARENT": "_process",
    "MariaDBPair": "mariadb_pair",
    "MariaDBServer": "mariadb_server",
    "ProcessGroup": "process_group",
    "RedisClusterServers": "redis_cluster",
    "RedisServer": "redis_server",
    "ServerError": "_process",
    "ServiceStack": "stack",
    "free_port": "ports",
    "free_ports": "ports",
    "mariadb_installed": "stack",
    "rabbitmq_reachable": "rabbitmq",
    "start_services": "stack",
    "wait_for_port": "ports",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
