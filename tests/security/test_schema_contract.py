"""The OpenAPI schema says what the server enforces, and the server enforces what the schema says.

Each rule is checked from both sides: the schema declares it, and a request that breaks it is a
400 ``invalid`` (tests/security/test_schemathesis_cli.py then fuzzes the whole contract).
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from flashsale.purchase_api import IDEMPOTENCY_KEY
from tests.factories import UserFactory, live_sale
from tests.helpers import client_for, real_db, token_for


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _parameter(schema, path: str, method: str, name: str) -> dict:
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)


def _request_strings(schema):
    """(component.property, string schema) for every string a request body may carry."""
    for component, body in schema["components"]["schemas"].items():
        if not component.endswith("Request"):
            continue
        for name, prop in body.get("properties", {}).items():
            for branch in prop.get("oneOf", [prop]):
                if branch.get("type") == "string" and branch.get("maxLength") != 0:
                    yield f"{component}.{name}", branch


def test_the_schema_declares_the_idempotency_key_pattern_the_server_checks(schema):
    header = _parameter(schema, "/api/sales/{sale_id}/purchase", "post", "Idempotency-Key")
    assert header["schema"]["pattern"] == IDEMPOTENCY_KEY.pattern


def test_every_string_in_a_request_body_declares_a_pattern_that_bans_nul(schema):
    allowing_nul = [name for name, string in _request_strings(schema) if re.search(string["pattern"], "a\x00b")]
    assert allowing_nul == []


def test_the_nul_ban_lets_every_other_string_through(schema):
    refusing = [name for name, string in _request_strings(schema) if not re.search(string["pattern"], "any thing")]
    assert refusing == []


def test_the_schema_declares_integer_path_ids_are_not_negative(schema):
    assert _parameter(schema, "/api/sales/{sale_id}/", "get", "sale_id")["schema"]["minimum"] == 0


def test_the_schema_declares_order_numbers_are_uuids(schema):
    assert _parameter(schema, "/api/orders/{number}/", "get", "number")["schema"]["format"] == "uuid"


def test_every_link_targets_an_operation_of_the_schema(schema):
    operations = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    targets = {
        link["operationId"]
        for ops in schema["paths"].values()
        for op in ops.values()
        for answer in op["responses"].values()
        for link in answer.get("links", {}).values()
    }
    assert targets - operations == set()


@real_db
@pytest.mark.usefixtures("no_captcha", "no_rate_limits")
@pytest.mark.parametrize(
    "body",
    [{"captcha_answer": "ab\x00c"}, {"captcha_key": "\x00"}, {"captcha_answer": 1234}, {"captcha_key": 1.5}],
    ids=["nul-in-answer", "nul-as-key", "integer-answer", "number-key"],
)
def test_the_token_endpoint_refuses_what_the_schema_refuses(body):
    sale = live_sale()
    response = client_for(UserFactory()).post(f"/api/sales/{sale.pk}/token", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@real_db
@pytest.mark.usefixtures("no_captcha", "no_rate_limits")
def test_the_purchase_refuses_a_token_with_a_nul():
    sale = live_sale()
    client = client_for(UserFactory())
    body = {"token": token_for(client, sale.pk) + "\x00", "quantity": 1}
    response = client.post(f"/api/sales/{sale.pk}/purchase", body, format="json")
    assert response.json()["details"] == {"token": ["Null characters are not allowed."]}


@real_db
@pytest.mark.parametrize("fail", ["-1", "maybe", "2"])
def test_pay_refuses_a_fail_flag_that_is_not_a_boolean(fail):
    response = client_for(UserFactory()).post(f"/api/orders/{uuid.uuid4()}/pay?fail={fail}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
