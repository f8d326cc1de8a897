"""The gateway tier: Debian's nginx with deploy/nginx.conf in front of the app (gunicorn here).

It limits each client address on the token, purchase and queue paths with the API's JSON 429 and
Retry-After, and passes the client's address on, so the app's own per-IP limits count the real
shopper, not the gateway."""

from __future__ import annotations

import json
import shutil

import pytest
from django.templatetags.static import static

from tests.helpers import real_db
from tests.support.nginx import request, start_nginx
from tests.support.processes import start_gunicorn

pytestmark = real_db


@pytest.fixture
def gateway(tmp_path):
    if not shutil.which("nginx") and not shutil.which("/usr/sbin/nginx"):
        pytest.fail("nginx not found (scripts/bootstrap.sh test installs Debian's nginx)")
    app, base = start_gunicorn(
        tmp_path,
        workers=1,
        threads=8,
        # The app believes the gateway's X-Forwarded-For; its captcha limit is small enough to reach.
        env={"TRUSTED_PROXIES": "127.0.0.1", "FLASHSALE_RATE_CAPTCHA": "3/m"},
    )
    (tmp_path / "nginx").mkdir()
    edge, port = start_nginx(tmp_path / "nginx", base.removeprefix("http://"))
    yield port
    edge.stop()
    app.stop()


def test_the_gateway_limits_one_address_on_the_purchase_path_with_the_apis_429(gateway):
    answers = [request(gateway, "POST", "/api/sales/1/purchase", source="127.0.0.2") for _ in range(30)]
    refused = [a for a in answers if a[0] == 429]
    assert refused, [a[0] for a in answers]
    status, headers, body = refused[0]
    assert headers["x-ratelimit-scope"] == "edge"
    assert headers["retry-after"] == "1"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == "rate_limited"
    assert 400 <= answers[0][0] < 500 and answers[0][0] != 429  # the first ones reached the app


def test_the_gateway_limit_is_per_address(gateway):
    for _ in range(30):
        request(gateway, "POST", "/api/sales/1/token", source="127.0.0.2")
    status, headers, _body = request(gateway, "POST", "/api/sales/1/token", source="127.0.0.3")
    assert "x-ratelimit-scope" not in headers
    assert status != 429


def test_the_apps_per_ip_limit_counts_the_real_client_behind_the_gateway(gateway):
    first = [request(gateway, "GET", "/api/captcha", source="127.0.0.2")[0] for _ in range(4)]
    assert first == [200, 200, 200, 429]  # the app's own limit (3/m here) for 127.0.0.2
    _status, headers, _body = request(gateway, "GET", "/api/captcha", source="127.0.0.2")
    assert "x-ratelimit-scope" not in headers  # refused by the app, not the gateway
    # Another client through the same gateway has a bucket of its own: the app saw its address.
    assert request(gateway, "GET", "/api/captcha", source="127.0.0.3")[0] == 200


def test_a_forged_forwarded_for_does_not_move_a_client_to_another_bucket(gateway):
    for _ in range(3):
        request(gateway, "GET", "/api/captcha", source="127.0.0.2")
    forged = {"X-Forwarded-For": "198.51.100.7"}
    assert request(gateway, "GET", "/api/captcha", source="127.0.0.2", headers=forged)[0] == 429


def test_static_files_pass_the_gateway_with_a_years_lifetime(gateway):
    status, headers, _body = request(gateway, "GET", static("js/common.js"))
    assert status == 200
    assert headers["cache-control"] == "max-age=315360000, public, immutable"
