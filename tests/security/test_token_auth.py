"""API-token authentication (config.authentication.LeanTokenAuthentication) on the real databases."""

from __future__ import annotations

from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory, live_sale
from tests.helpers import real_db

pytestmark = real_db


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.using('default').create(user=user).key}")
    return client


def test_an_api_token_authenticates_in_one_query_that_reads_two_columns(settings):
    settings.FLASHSALE = {**settings.FLASHSALE, "CAPTCHA_REQUIRED": False}
    sale = live_sale()
    client = _token_client(UserFactory())
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.post(f"/api/sales/{sale.pk}/token", {}, format="json")
    assert response.status_code == 200, response.content
    auth = [q["sql"] for q in [*primary, *replica] if "authtoken_token" in q["sql"]]
    assert len(auth) == 1, auth
    assert "JOIN" in auth[0], auth
    assert len(primary) + len(replica) == 1  # and nothing else: the token itself is issued in Redis


def test_a_wrong_token_and_an_inactive_users_token_are_401():
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for client in (_token_client(UserFactory(is_active=False)), wrong):
        response = client.get("/api/orders/")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_the_user_it_returns_loads_its_other_fields_on_demand():
    from config.authentication import LeanTokenAuthentication

    user = UserFactory(username="lean", email="lean@example.com")
    key = Token.objects.using("default").create(user=user).key
    found, token = LeanTokenAuthentication().authenticate_credentials(key)
    assert (found.pk, found.is_active, token.key) == (user.pk, True, key)
    assert found.get_deferred_fields() >= {"username", "email"}
    assert (found.username, found.email) == ("lean", "lean@example.com")
