"""Bad input and abuse: each is a 4xx in the error shape, never a 5xx, and takes nothing."""

from __future__ import annotations

import time

import pytest
import requests
import time_machine
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory, live_sale
from tests.helpers import buy, client_for, real_db, redis_stock, stream_len, token_for
from tests.support.processes import start_gunicorn

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _nothing_taken(sale):
    assert redis_stock(sale.pk) == sale.quantity
    assert stream_len(sale.pk) == 0


def test_an_oversize_body_is_413_before_it_is_read():
    sale = live_sale(quantity=10)
    client = client_for(UserFactory())
    body = '{"token": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '", "quantity": 1}'
    response = client.post(f"/api/sales/{sale.pk}/purchase", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    _nothing_taken(sale)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_a_wrong_content_type_is_415(content_type):
    sale = live_sale(quantity=10)
    response = client_for(UserFactory()).post(
        f"/api/sales/{sale.pk}/purchase", '{"quantity": 1}', content_type=content_type
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    _nothing_taken(sale)


@pytest.mark.parametrize(
    "sale_id", ["1 OR 1=1", "../1", "..%2F..%2Fetc", "%E2%9C%93", "١", "-1", "99999999999999999999999", "0x1"]
)
def test_odd_sale_ids_are_404_in_the_error_shape(sale_id):
    client = client_for(UserFactory())
    body = {"token": "t", "quantity": 1}
    for method, path in (
        ("post", f"/api/sales/{sale_id}/purchase"),
        ("post", f"/api/sales/{sale_id}/token"),
        ("get", f"/api/sales/{sale_id}/"),
    ):
        response = getattr(client, method)(path, body, format="json") if method == "post" else client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["code"] == "not_found"


def test_an_expired_token_is_a_bad_token():
    sale = live_sale(quantity=10)
    client = client_for(UserFactory())
    token = token_for(client, sale.pk)
    with time_machine.travel(time.time() + settings.FLASHSALE["TOKEN_TTL"] + 5, tick=False):
        response = buy(client, sale.pk, token=token)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_token"
    _nothing_taken(sale)


@pytest.mark.parametrize("key", ["", " ", "a" * 65, "ключ", "a b", "a/b"])
def test_a_malformed_idempotency_key_is_400(key):
    sale = live_sale(quantity=10)
    client = client_for(UserFactory())
    response = client.post(
        f"/api/sales/{sale.pk}/purchase",
        {"token": token_for(client, sale.pk), "quantity": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    _nothing_taken(sale)


@pytest.mark.slow
def test_a_rate_limit_holds_in_total_across_several_web_processes(tmp_path, settings):
    sale = live_sale(quantity=100, limit=100)
    user = UserFactory(username="burst")
    key = Token.objects.using("default").create(user=user).key
    web, base = start_gunicorn(
        tmp_path,
        workers=3,
        threads=4,
        env={
            "FLASHSALE_CAPTCHA_REQUIRED": "false",
            "ALLOW_LOAD_TEST_SWITCHES": "true",
            "RATELIMIT_ENABLE": "true",
            "FLASHSALE_RATE_USER": "10/h",
            "FLASHSALE_RATE_IP": "10000/h",
        },
    )
    try:
        session = requests.Session()  # one client, new connection each time: spread over the workers
        codes = []
        for _ in range(30):
            r = requests.post(
                f"{base}/api/sales/{sale.pk}/token",
                json={},
                headers={"Authorization": f"Token {key}", "Connection": "close"},
                timeout=10,
            )
            codes.append(r.status_code)
        session.close()
    finally:
        web.stop()
    assert codes.count(200) == 10, codes
    assert codes.count(429) == 20, codes
