"""Anti-bot defences on the API: rate limits, trusted proxies, CSRF, single-use captcha."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from captcha.models import CaptchaStore
from django.contrib.auth.models import User
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.redis import get_redis
from flashsale.services import purchase_token_issue
from inventory.redis_schema import sale_keys
from tests.factories import UserFactory, live_sale
from tests.helpers import buy, client_for, on_each_redis, real_db, redis_stock, stream_len

pytestmark = real_db


# Hourly rates: a window boundary falling inside a test (which would reset the counts) is then
# a 1-in-thousands event instead of a 1-in-60 one.
@pytest.fixture
def tight_limits(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False, "RATE_USER": "5/h", "RATE_IP": "1000/h"}


@on_each_redis  # its counters' scripts, pipelined, on a cluster too
def test_a_burst_over_the_per_user_limit_gets_429_with_retry_after_and_others_are_unaffected(tight_limits):
    sale = live_sale()
    greedy, calm = client_for(UserFactory()), client_for(UserFactory())
    codes = [greedy.post(f"/api/sales/{sale.pk}/token", {}, format="json") for _ in range(8)]
    assert [r.status_code for r in codes] == [200] * 5 + [429] * 3
    refused = codes[-1]
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert calm.post(f"/api/sales/{sale.pk}/token", {}, format="json").status_code == 200


def test_a_rotated_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False, "RATE_USER": "1000/h", "RATE_IP": "4/h"}
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    sale = live_sale()
    statuses = []
    for i in range(6):  # six different accounts, one untrusted peer, a new forged XFF each time
        client = client_for(UserFactory())
        r = client.post(
            f"/api/sales/{sale.pk}/token",
            {},
            format="json",
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
        statuses.append(r.status_code)
    assert statuses == [200] * 4 + [429] * 2


def test_x_forwarded_for_is_believed_from_a_trusted_proxy(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False, "RATE_USER": "1000/h", "RATE_IP": "2/h"}
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    sale = live_sale()
    statuses = []
    for i in range(4):  # distinct real clients behind our proxy: each has its own budget
        r = client_for(UserFactory()).post(
            f"/api/sales/{sale.pk}/token",
            {},
            format="json",
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, 198.51.100.{i}",
        )
        statuses.append(r.status_code)
    assert statuses == [200] * 4


def test_a_session_post_without_a_csrf_token_is_403(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False}
    sale = live_sale()
    UserFactory(username="sess")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="sess", password="pw")
    response = client.post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "CSRF" in response.json()["message"]
    assert not get_redis().exists(sale_keys(sale.pk).token(User.objects.get(username="sess").pk))


def test_a_purchase_ignores_cookies_so_a_cross_site_post_has_nothing_to_borrow(settings):
    """The purchase's only credential is the signed token in its body, which another site cannot read."""
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False}
    sale = live_sale()
    UserFactory(username="victim")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="victim", password="pw")  # the browser holds the victim's session cookie
    response = client.post(f"/api/sales/{sale.pk}/purchase", {"token": "forged", "quantity": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "bad_token"
    assert redis_stock(sale.pk) == 100


@on_each_redis  # its counters' scripts, pipelined, on a cluster too
def test_the_purchase_limits_per_user_and_per_ip_are_counted_in_the_script_and_spend_nothing(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False, "RATE_USER": "2/h", "RATE_IP": "1000/h"}
    settings.RATELIMIT_ENABLE = True
    sale = live_sale(quantity=100, limit=10)
    user = UserFactory()
    client = client_for(user)

    def token(shopper) -> str:  # issued by the service: the token endpoint's own limits are another test's
        return purchase_token_issue(sale_id=sale.pk, user_id=shopper.pk).token

    assert [buy(client, sale.pk, token=token(user)).status_code for _ in range(2)] == [202, 202]
    refused = buy(client, sale.pk, token=token(user))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 3000 <= int(refused["Retry-After"]) <= 3600
    assert get_redis().exists(sale_keys(sale.pk).token(user.pk)), "a rate-limited attempt must not spend its token"
    assert redis_stock(sale.pk) == 98
    assert stream_len(sale.pk) == 2

    settings.FLASHSALE = {**settings.FLASHSALE, "RATE_USER": "1000/h", "RATE_IP": "3/h"}
    others = []
    for _ in range(5):  # many accounts behind one address share its budget
        shopper = UserFactory()
        others.append(buy(client_for(shopper), sale.pk, token=token(shopper), REMOTE_ADDR="198.51.100.7").status_code)
    assert others == [202, 202, 202, 429, 429]
    assert redis_stock(sale.pk) == 95


def test_refused_purchase_tokens_are_limited_per_ip_before_they_cost_a_database_read(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "RATE_USER": "1000/h", "RATE_IP": "3/h"}
    settings.RATELIMIT_ENABLE = True
    client = APIClient()
    codes = [
        client.post(
            "/api/sales/987654/purchase",
            {"token": f"junk{i}", "quantity": 1},
            format="json",
            REMOTE_ADDR="198.51.100.9",
        ).status_code
        for i in range(5)
    ]
    assert codes == [404, 404, 404, 429, 429]
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        client.post(
            "/api/sales/987654/purchase", {"token": "junk", "quantity": 1}, format="json", REMOTE_ADDR="198.51.100.9"
        )
    assert len(primary) + len(replica) == 0


def _challenge(client) -> tuple[str, str]:
    key = client.get("/api/captcha").json()["key"]
    return key, CaptchaStore.objects.using("default").get(hashkey=key).response


def test_a_wrong_captcha_answer_kills_the_challenge():
    sale = live_sale()
    client = client_for(UserFactory())
    key, right = _challenge(client)
    wrong = client.post(
        f"/api/sales/{sale.pk}/token", {"captcha_key": key, "captcha_answer": right + "x"}, format="json"
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "bad_captcha"
    late = client.post(f"/api/sales/{sale.pk}/token", {"captcha_key": key, "captcha_answer": right}, format="json")
    assert late.status_code == 400
    assert late.json()["code"] == "bad_captcha"


def test_a_right_captcha_answer_gives_a_token_once():
    sale = live_sale()
    client = client_for(UserFactory())
    key, right = _challenge(client)
    first = client.post(
        f"/api/sales/{sale.pk}/token", {"captcha_key": key, "captcha_answer": right.upper()}, format="json"
    )
    assert first.status_code == 200
    assert first.json()["expires_in"] > 0
    again = client.post(f"/api/sales/{sale.pk}/token", {"captcha_key": key, "captcha_answer": right}, format="json")
    assert again.status_code == 400


def test_concurrent_reuse_of_one_right_captcha_answer_gives_exactly_one_token():
    sale = live_sale()
    user = UserFactory()
    key, right = _challenge(client_for(user))
    barrier = threading.Barrier(10)

    def attempt(_):
        client = client_for(user)
        barrier.wait()
        return client.post(
            f"/api/sales/{sale.pk}/token", {"captcha_key": key, "captcha_answer": right}, format="json"
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(attempt, range(10)))
    assert codes.count(200) == 1
    assert codes.count(400) == 9


def test_the_captcha_image_is_served():
    client = APIClient()
    body = client.get("/api/captcha").json()
    image = client.get(body["image_url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"


def test_captcha_creation_is_limited_per_client_network(settings):
    settings.RATELIMIT_ENABLE = True
    settings.FLASHSALE = {**settings.FLASHSALE, "RATE_CAPTCHA": "3/h"}
    client = APIClient()
    codes = [client.get("/api/captcha", REMOTE_ADDR="2001:db8:7::1").status_code for _ in range(3)]
    refused = client.get("/api/captcha", REMOTE_ADDR="2001:db8:7::2")  # the same /64
    assert codes == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert CaptchaStore.objects.using("default").count() == 3


def test_expired_captcha_challenges_are_deleted_by_the_beat_task():
    from datetime import timedelta

    from django.utils import timezone

    from flashsale.tasks import captcha_purge_expired_task

    client = APIClient()
    keys = [client.get("/api/captcha").json()["key"] for _ in range(3)]
    CaptchaStore.objects.filter(hashkey__in=keys[:2]).update(expiration=timezone.now() - timedelta(seconds=1))
    assert captcha_purge_expired_task() == 2
    assert list(CaptchaStore.objects.using("default").values_list("hashkey", flat=True)) == [keys[2]]


def test_beat_purges_captchas_on_the_maintenance_queue(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "flashsale.captcha_purge_expired")
    assert entry["schedule"] == settings.CAPTCHA_PURGE_INTERVAL
    assert settings.CELERY_TASK_ROUTES["flashsale.captcha_purge_expired"]["queue"] == settings.MAINTENANCE_QUEUE


def test_the_captcha_package_s_refresh_view_is_not_served():
    response = APIClient().get("/captcha/refresh/", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 404
    assert CaptchaStore.objects.using("default").count() == 0
