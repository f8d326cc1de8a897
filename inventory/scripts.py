"""The Lua scripts, read from ``inventory/lua`` once and registered with the Redis client once.

``register_script`` sends EVALSHA and loads the script on NOSCRIPT (after a Redis restart).
"""
from __future__ import annotations

import functools
from pathlib import Path

from inventory.redis_client import get_redis

LUA_DIR = Path(__file__).parent / "lua"


@functools.cache
def _source(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


@functools.cache
def _script(name: str, client_id: int):
    return get_redis().register_script(_source(name))


def script(name: str):
    client = get_redis()
    return _script(name, id(client))


def purchase(keys, args):
    return script("purchase")(keys=keys, args=args)


def settle(keys, args):
    return script("settle")(keys=keys, args=args)


def release(keys, args):
    return script("release")(keys=keys, args=args)


def preheat(keys, args):
    return script("preheat")(keys=keys, args=args)


def set_state(keys, args):
    return script("set_state")(keys=keys, args=args)


def repair(keys, args):
    return script("repair")(keys=keys, args=args)
