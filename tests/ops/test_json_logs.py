"""LOG_FORMAT=json: each line one JSON object carrying the request id and, where there is one, the
reservation id; the request id comes from a trusted proxy's X-Request-ID or is made here."""

from __future__ import annotations

import json
import time

import pytest
import requests
from rest_framework.authtoken.models import Token

from inventory.redis_schema import reservation_id_new
from tests.factories import UserFactory
from tests.helpers import real_db
from tests.support.processes import start_gunicorn

pytestmark = real_db


@pytest.fixture
def json_web(tmp_path):
    proc, base = start_gunicorn(tmp_path, workers=1, threads=2, env={"LOG_FORMAT": "json", "TRUSTED_PROXIES": ""})
    yield proc, base
    proc.stop()


def _records(proc, predicate, timeout: float = 10.0) -> list[dict]:
    """The JSON lines of the server's log that match ``predicate`` (waiting for the first)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = proc.log.read_text(errors="replace").splitlines()
        found = [r for line in lines if line.startswith("{") and predicate(r := json.loads(line))]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_request_logs_json_with_its_request_id_and_reservation_id(json_web, stack):
    proc, base = json_web
    token = Token.objects.create(user=UserFactory()).key
    stack.mariadb.wait_for_replica()  # the server reads the token on the replica
    rid = reservation_id_new(7)
    response = requests.get(f"{base}/api/reservations/{rid}", headers={"Authorization": f"Token {token}"}, timeout=5)
    assert response.status_code == 404
    records = _records(proc, lambda r: r.get("reservation_id") == rid)
    assert records, proc.tail()
    assert records[0]["request_id"] == response.headers["X-Request-ID"]
    assert records[0]["level"] == "WARNING"  # Django's "Not Found" line for the 404


def test_a_request_id_from_an_untrusted_peer_is_replaced(json_web):
    _proc, base = json_web
    response = requests.get(f"{base}/healthz", headers={"X-Request-ID": "forged-by-the-client"}, timeout=5)
    assert response.headers["X-Request-ID"] != "forged-by-the-client"


def test_a_request_id_from_a_trusted_proxy_is_kept(tmp_path):
    proc, base = start_gunicorn(tmp_path, workers=1, threads=2, env={"TRUSTED_PROXIES": "127.0.0.1"})
    try:
        response = requests.get(f"{base}/healthz", headers={"X-Request-ID": "edge-0123456789"}, timeout=5)
    finally:
        proc.stop()
    assert response.headers["X-Request-ID"] == "edge-0123456789"
