"""scripts/audit.py (`make audit`) judges pip-audit's JSON report: a vulnerability fails, and a
dependency the service could not answer for is never counted as clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
VULNERABLE = {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-0", "fix_versions": ["5.2.1"]}]}
UNANSWERED = {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)"}


def _judge(tmp_path, dependencies, **env) -> subprocess.CompletedProcess:
    report = tmp_path / "audit.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit.py"), "--report", str(report)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=30,
    )


def test_a_clean_report_passes(tmp_path):
    assert _judge(tmp_path, [CLEAN]).returncode == 0


def test_a_known_vulnerability_fails(tmp_path):
    assert _judge(tmp_path, [CLEAN, VULNERABLE]).returncode == 1


def test_a_known_vulnerability_is_named_with_its_fixed_version(tmp_path):
    assert "django 5.2.0: PYSEC-0 (fixed in 5.2.1)" in _judge(tmp_path, [VULNERABLE]).stdout


def test_an_unreachable_service_is_reported_as_nothing_audited(tmp_path):
    assert "0 of 1 dependencies audited" in _judge(tmp_path, [UNANSWERED]).stdout


@pytest.mark.parametrize("required, status", [("", 0), ("true", 2)])
def test_an_unreachable_service_fails_only_when_the_audit_is_required(tmp_path, required, status):
    assert _judge(tmp_path, [UNANSWERED], AUDIT_REQUIRED=required).returncode == status
