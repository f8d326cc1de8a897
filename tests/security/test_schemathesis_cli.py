"""The schemathesis CLI, as an outsider runs it, against the schema a real gunicorn serves.

Every phase (examples, coverage, fuzzing, stateful) and every check, authenticated as a seeded
user, with a live preheated sale to hit; once with DEBUG on and once off, since Django answers
some errors differently in DEBUG. Its settings (bounds, determinism, the documented statuses) are
in schemathesis.toml at the repository root. On a failure the assertion shows the end of its
report: each failing case with a curl line to replay it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory, live_sale
from tests.helpers import real_db
from tests.support.processes import BIN, ROOT, start_gunicorn, start_worker

pytestmark = [real_db, pytest.mark.slow]

CLI_TIMEOUT = 150  # seconds; a run takes well under it (docs/reliability.md)
# The load-test switches: tokens without a captcha, no rate limits (the fuzzer is one client).
APP_ENV = {"FLASHSALE_CAPTCHA_REQUIRED": "false", "RATELIMIT_ENABLE": "false", "ALLOW_LOAD_TEST_SWITCHES": "true"}


def _config(tmp_path, sale_id: int):
    """The repository's schemathesis.toml, with every sale id pinned to the live sale."""
    config = tmp_path / "schemathesis.toml"
    config.write_text((ROOT / "schemathesis.toml").read_text() + f"\n[parameters]\nsale_id = {sale_id}\n")
    return config


def _schemathesis(base: str, config, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{base}/api/schema/?format=json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--report",
            "har",
            "--report-har-path",
            str(cwd / "requests.har"),
        ],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def _sent(har) -> Counter:
    """What schemathesis sent, by answer status, from its HAR report."""
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    return Counter(entry["response"]["status"] for entry in entries)


def _tail(output: str, lines: int = 120) -> str:
    return "\n".join(output.splitlines()[-lines:])


@pytest.mark.parametrize("debug", ["true", "false"], ids=["debug", "no-debug"])
def test_schemathesis_finds_no_failure_in_the_served_api(debug, tmp_path):
    sale = live_sale(quantity=100_000, limit=10_000)
    key = Token.objects.using("default").create(user=UserFactory(username="fuzzer")).key
    env = {**APP_ENV, "DEBUG": debug}
    web, base = start_gunicorn(tmp_path, workers=2, threads=4, env=env)  # on 127.0.0.1: the only target
    worker = start_worker(tmp_path, concurrency=1, env=env)  # purchases become orders to pay and cancel
    started = time.monotonic()
    try:
        result = _schemathesis(base, _config(tmp_path, sale.pk), {"FLASHSALE_FUZZ_API_TOKEN": key}, cwd=tmp_path)
    finally:
        web.stop()
        worker.stop()
    cases = re.search(r"Test cases:\s*\n\s*(.+)", result.stdout)
    sent = _sent(tmp_path / "requests.har")
    print(
        f"\nDEBUG={debug}: {sum(sent.values())} requests in {time.monotonic() - started:.1f} s "
        f"({cases.group(1) if cases else 'no summary'}), by status {dict(sorted(sent.items()))}"
    )
    assert result.returncode == 0, _tail(result.stdout + result.stderr)
