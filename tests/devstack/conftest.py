"""tests/devstack start their own servers and need neither Django nor the shared stack's Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Overrides tests/conftest.py's per-test flush of the app's Redis: nothing to clean here."""
    yield
