"""The layers contract (.importlinter) holds on the tree, and catches an upward import, even in a function."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("config", "inventory", "flashsale", "orders", "reconciliation")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_the_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "module, line",
    [
        ("inventory/services.py", "from orders.models import Order  # noqa: F401"),
        ("config/health.py", "def _sneaky():\n    from flashsale.models import FlashSale  # noqa: F401\n"),
    ],
    ids=["top-level", "in-a-function"],
)
def test_an_upward_import_breaks_the_contract(tmp_path, module, line):
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    with open(tmp_path / module, "a") as f:
        f.write(f"\n\n{line}\n")
    result = _lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
