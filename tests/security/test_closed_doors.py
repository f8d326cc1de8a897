"""Doors that must stay shut in production: load-test switches, the primary-pin cookie, the session
cookie on cached pages, the compose file's secret and memory limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.http import HttpResponse
from django.test import Client, RequestFactory

from config.db_router import PIN_COOKIE, PinPrimaryAfterWriteMiddleware, is_pinned
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db

ROOT = Path(__file__).resolve().parents[2]
SWITCHES = {
    "FLASHSALE_CAPTCHA_REQUIRED": "false",
    "RATELIMIT_ENABLE": "false",
    "PAYMENT_FAIL_HOOK": "true",
    "PAYMENT_GATEWAY_DECLINE": "true",
}


def _load_settings(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SWITCHES and k != "ALLOW_LOAD_TEST_SWITCHES"}
    base.pop("PYTEST_CURRENT_TEST", None)
    code = "from django.conf import settings; settings.DATABASES; print('loaded')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DEBUG": "false", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_a_load_test_switch_is_refused_at_start_with_debug_off(name):
    started = _load_settings(**{name: SWITCHES[name]})
    assert started.returncode != 0
    assert "ALLOW_LOAD_TEST_SWITCHES" in started.stderr


@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_a_load_test_switch_starts_when_allowed_and_says_so_loudly(name):
    started = _load_settings(**{name: SWITCHES[name]}, ALLOW_LOAD_TEST_SWITCHES="true")
    assert started.returncode == 0, started.stderr
    assert "never do this in production" in started.stderr


def test_the_settings_load_with_every_door_shut():
    assert _load_settings().returncode == 0


def _pinned_during(request) -> bool:
    seen = []
    PinPrimaryAfterWriteMiddleware(lambda r: seen.append(is_pinned()) or HttpResponse())(request)
    return seen[0]


@real_db
def test_an_anonymous_write_leaves_no_pin_cookie(client):
    response = client.get("/api/captcha")  # writes a challenge row on the primary
    assert PIN_COOKIE not in response.cookies


def test_a_forged_pin_cookie_does_not_send_reads_to_the_primary():
    request = RequestFactory().get("/api/sales/")
    request.COOKIES[PIN_COOKIE] = "1"
    assert _pinned_during(request) is False


def test_the_signed_pin_cookie_a_write_left_pins_the_next_reads():
    from django.core.signing import get_cookie_signer

    from config.db_router import PIN_SALT

    request = RequestFactory().get("/api/sales/")
    request.COOKIES[PIN_COOKIE] = get_cookie_signer(salt=PIN_COOKIE + PIN_SALT).sign("1")
    assert _pinned_during(request) is True


@real_db
def test_random_session_cookies_cost_no_query_on_the_cached_sale_page():
    import secrets

    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    sale = live_sale(quantity=10)
    client = Client()
    client.get(f"/sales/{sale.pk}/")  # the page is rendered and cached once
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        for _ in range(50):
            client.cookies["sessionid"] = secrets.token_hex(16)  # well-formed, unknown: the attacker's random cookie
            page = client.get(f"/sales/{sale.pk}/")
    assert len(primary) + len(replica) == 0
    assert 'data-auth="0"' in page.content.decode()


@real_db
def test_a_logged_in_shopper_still_shows_as_logged_in_on_the_cached_page():
    sale = live_sale(quantity=10)
    client = Client()
    client.force_login(UserFactory())
    page = client.get(f"/sales/{sale.pk}/").content.decode()
    assert 'data-auth="1"' in page


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_requires_a_secret_key():
    assert _compose()["x-app"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_compose_gives_redis_a_memory_limit_with_noeviction():
    command = _compose()["services"]["redis"]["command"]
    assert "--maxmemory" in command
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
