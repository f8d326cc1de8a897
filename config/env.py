"""Validating readers for settings that come from the environment.

Every setting the project reads from the environment goes through one of these, so a
typo such as ``ORDER_PAYMENT_TIMEOUT=15m`` stops the process at start instead of
misbehaving at 20:00 on sale day.
"""

from __future__ import annotations

import re

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_RATE = re.compile(r"^\d+/\d*[smhd]$")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.str(name, default=str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name}={value} is outside [{minimum}, {maximum}]")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="true" if default else "false").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_rate(name: str, default: str) -> str:
    """A rate such as ``5/s`` or ``100/m`` (``N/[k]s|m|h|d``, django-ratelimit's syntax)."""
    value = env.str(name, default=default).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name} must look like N/s, N/m, N/h or N/d, got {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


def env_str(name: str, default: str) -> str:
    return env.str(name, default=default)


def env_choice(name: str, default: str, choices: list[str]) -> str:
    value = env.str(name, default=default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_db(name: str, default: str | None = None) -> dict | None:
    raw = env.str(name, default=default or "")
    if not raw:
        return None
    try:
        return environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name} is not a database URL: {exc}") from None
