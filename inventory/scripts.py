"""The Lua scripts, read from ``inventory/lua`` once and registered with the Redis client once.

``register_script`` sends EVALSHA and loads the script on NOSCRIPT (after a Redis restart).
Call them as ``scripts.purchase(keys=[…], args=[…])``; each script's header documents both.
"""
from __future__ import annotations

import functools
from pathlib import Path

from inventory.redis_client import get_redis

LUA_DIR = Path(__file__).parent / "lua"


@functools.cache
def _registered(name: str, client_id: int):
    return get_redis().register_script((LUA_DIR / f"{name}.lua").read_text())


def script(name: str):
    """The registered Script object (e.g. to run it inside a pipeline: ``script(n)(keys, args, client=pipe)``)."""
    return _registered(name, id(get_redis()))


def _runner(name: str):
    def run(*, keys: list, args: list):
        return script(name)(keys=keys, args=args)

    run.__name__ = run.__qualname__ = name
    return run


purchase = _runner("purchase")
settle = _runner("settle")
release = _runner("release")
preheat = _runner("preheat")
set_state = _runner("set_state")
repair = _runner("repair")
token = _runner("token")
note_gtid = _runner("note_gtid")
