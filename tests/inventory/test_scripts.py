"""The Lua scripts: each refuses the wrong number of KEYS or ARGV first, and returns share one guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from config.redis import get_redis, lua_source

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(
    p for app in ("config", "inventory", "flashsale", "orders") for p in (ROOT / app / "lua").glob("*.lua")
)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_script_refuses_the_wrong_number_of_keys_and_args(path):
    with pytest.raises(redis.ResponseError, match="want"):
        get_redis().eval(lua_source(path), 0)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_script_checks_its_counts_before_anything_else(path):
    code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("--")]
    assert code[0].startswith("if #KEYS")


def test_release_and_settle_return_units_through_the_one_included_guard():
    lib = (ROOT / "inventory/lua/lib/return_units.lua").read_text().rstrip("\n")
    for name in ("release", "settle"):
        source = lua_source(ROOT / f"inventory/lua/{name}.lua")
        assert lib in source, name
        assert source.count("HSETNX") == 1, name  # only the included one
