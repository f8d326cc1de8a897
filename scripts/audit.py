"""Known vulnerabilities in the pinned requirements: pip-audit, read so that "not audited" never passes for clean.

    .venv/bin/python scripts/audit.py [pip-audit options, e.g. -s osv]      (make audit)
    .venv/bin/python scripts/audit.py --report audit.json                  (judge a saved `pip-audit -f json` report)

pip-audit resolves requirements-dev.txt (which includes requirements-run.txt and requirements.txt,
so every pin and what they pull in) in a throwaway virtualenv and asks a vulnerability service
about each resolved version; by default PyPI's JSON API (`-s pypi`), or OSV (`-s osv`).

Exit status:
- 1 if any dependency has a known vulnerability (each is listed with its fixed versions);
- 0 if none does. When the service could not answer for some or all dependencies, pip-audit
  itself still says "No known vulnerabilities found"; here they are counted and named, and the
  run exits 0 with a warning saying how much went unaudited, or 2 when AUDIT_REQUIRED=true;
- pip-audit's own status when it fails (a requirement that does not resolve, for instance).
Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIP_AUDIT = Path(sys.executable).parent / "pip-audit"
REQUIREMENTS = ROOT / "requirements-dev.txt"


def _audit(extra: list[str]) -> tuple[int, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        argv = [str(PIP_AUDIT), "-r", str(REQUIREMENTS), "-f", "json", "-o", str(report), "--progress-spinner", "off"]
        rc = subprocess.run([*argv, *extra], cwd=ROOT).returncode
        return rc, json.loads(report.read_text()) if report.exists() else {}


def main(args: list[str]) -> int:
    if args[:1] == ["--report"]:
        rc, report = 0, json.loads(Path(args[1]).read_text())
    else:
        rc, report = _audit(args)
    dependencies = report.get("dependencies", [])
    if rc not in (0, 1) or not dependencies:
        print(f"audit: pip-audit failed (exit {rc}) before it audited anything", file=sys.stderr)
        return rc or 1
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if "skip_reason" in d]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
            print(f"audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    if len(skipped) == len(dependencies):  # the service is away: one line, not one per dependency
        print(f"audit: nothing audited; the first answer: {skipped[0]['skip_reason']}")
    else:
        for dep in skipped:
            print(f"audit: not audited: {dep['skip_reason']}")
    audited = len(dependencies) - len(skipped)
    print(f"audit: {audited} of {len(dependencies)} dependencies audited, {len(vulnerable)} vulnerable")
    if vulnerable:
        return 1
    if skipped:
        required = os.environ.get("AUDIT_REQUIRED", "").lower() == "true"
        print(
            f"audit: WARNING: {len(skipped)} dependencies could not be audited: the vulnerability service "
            "did not answer for them (try another with -s osv or -s pypi)",
            file=sys.stderr,
        )
        return 2 if required else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
