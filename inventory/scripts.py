"""The sale's Lua scripts (``inventory/lua``), each read and registered once.

Call ``script("purchase")(keys=[…], args=[…])``; each script's header documents its KEYS and ARGV,
and each checks their counts in its first lines.
"""

from __future__ import annotations

from pathlib import Path

from config.redis import LuaScripts

script = LuaScripts(Path(__file__).parent / "lua")
