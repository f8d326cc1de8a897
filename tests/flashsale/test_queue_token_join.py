"""Joining the waiting room with an API token: the plain view's contract is DRF's (real services)."""

from __future__ import annotations

from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory
from tests.helpers import real_db
from tests.support.queue import queue_sale

pytestmark = real_db


def _token(user) -> str:
    return Token.objects.using("default").create(user=user).key


def _join(sale_id: int, **headers):
    return Client(enforce_csrf_checks=True).post(f"/api/sales/{sale_id}/queue", **headers)


def test_a_join_with_an_api_token_gets_a_place_and_a_ticket():
    sale = queue_sale()
    joined = _join(sale.pk, HTTP_AUTHORIZATION=f"Token {_token(UserFactory())}")
    assert joined.status_code == 200, joined.content
    assert joined.json()["position"] == 1
    assert joined.json()["ticket"]


def test_a_token_join_reads_one_row_the_token_and_its_user():
    sale = queue_sale()
    key = _token(UserFactory())
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        _join(sale.pk, HTTP_AUTHORIZATION=f"Token {key}")
    assert len(primary) + len(replica) == 1


def test_a_second_token_join_keeps_the_place():
    sale = queue_sale()
    key = _token(UserFactory())
    first = _join(sale.pk, HTTP_AUTHORIZATION=f"Token {key}").json()["position"]
    assert _join(sale.pk, HTTP_AUTHORIZATION=f"Token {key}").json()["position"] == first


def test_a_wrong_token_is_401_not_authenticated_with_the_challenge():
    sale = queue_sale()
    refused = _join(sale.pk, HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"
    assert refused["WWW-Authenticate"] == "Token"


def test_an_inactive_users_token_is_401():
    sale = queue_sale()
    refused = _join(sale.pk, HTTP_AUTHORIZATION=f"Token {_token(UserFactory(is_active=False))}")
    assert refused.status_code == 401


def test_a_token_header_without_a_key_is_401_as_drf_answers_it():
    sale = queue_sale()
    assert _join(sale.pk, HTTP_AUTHORIZATION="Token").status_code == 401


def test_a_session_join_still_needs_its_csrf_token():
    sale = queue_sale()
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    refused = client.post(f"/api/sales/{sale.pk}/queue")
    assert refused.status_code == 403


def test_a_join_of_an_unknown_sale_is_404():
    assert _join(999_999, HTTP_AUTHORIZATION=f"Token {_token(UserFactory())}").status_code == 404
