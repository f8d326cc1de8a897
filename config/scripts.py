"""config's own Lua scripts (``config/lua``), each read and registered once; see each script's header."""

from __future__ import annotations

from pathlib import Path

from config.redis import LuaScripts

script = LuaScripts(Path(__file__).parent / "lua")
