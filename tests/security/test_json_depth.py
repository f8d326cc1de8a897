"""JSON nested too deep is a 400 ``invalid`` on both kinds of API view, never a RecursionError (500)."""

from __future__ import annotations

import pytest

from config.json_depth import MAX_JSON_DEPTH, json_too_deep
from tests.factories import UserFactory, live_sale
from tests.helpers import client_for, real_db, redis_stock, token_for

# Past the interpreter's recursion limit (1000): the standard library's parser would raise.
PAST_RECURSION_LIMIT = 5000
load_test_switches = pytest.mark.usefixtures("no_captcha", "no_rate_limits")


def _nested(depth: int) -> str:
    """An array ``depth`` levels deep, e.g. 2: [[]]."""
    return "[" * depth + "]" * depth


@real_db
@load_test_switches
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, PAST_RECURSION_LIMIT])
def test_the_drf_parser_refuses_json_nested_too_deep(depth):
    sale = live_sale()
    response = client_for(UserFactory()).post(
        f"/api/sales/{sale.pk}/token", f'{{"captcha_key": {_nested(depth - 1)}}}', content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@real_db
@load_test_switches
def test_the_drf_parser_takes_json_nested_to_the_limit():
    sale = live_sale()
    response = client_for(UserFactory()).post(
        f"/api/sales/{sale.pk}/token", f'{{"x": {_nested(MAX_JSON_DEPTH - 1)}}}', content_type="application/json"
    )
    assert response.status_code == 200


@real_db
@load_test_switches
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, PAST_RECURSION_LIMIT])
def test_the_purchase_refuses_json_nested_too_deep(depth):
    sale = live_sale()
    client = client_for(UserFactory())
    body = f'{{"token": "{token_for(client, sale.pk)}", "quantity": 1, "x": {_nested(depth - 1)}}}'
    response = client.post(f"/api/sales/{sale.pk}/purchase", body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@real_db
@load_test_switches
def test_a_purchase_refused_as_too_deep_takes_nothing():
    sale = live_sale()
    client = client_for(UserFactory())
    body = f'{{"token": "{token_for(client, sale.pk)}", "quantity": 1, "x": {_nested(PAST_RECURSION_LIMIT)}}}'
    client.post(f"/api/sales/{sale.pk}/purchase", body, content_type="application/json")
    assert redis_stock(sale.pk) == sale.quantity


@real_db
@load_test_switches
def test_the_purchase_takes_json_nested_to_the_limit():
    sale = live_sale()
    client = client_for(UserFactory())
    body = f'{{"token": "{token_for(client, sale.pk)}", "quantity": 1, "x": {_nested(MAX_JSON_DEPTH - 1)}}}'
    response = client.post(f"/api/sales/{sale.pk}/purchase", body, content_type="application/json")
    assert response.status_code == 202


@pytest.mark.parametrize(
    "document",
    [
        '{"token": "' + "[" * 100 + '", "quantity": 1}',  # brackets inside a string
        '{"a": "\\"' + "[" * 100 + '"}',  # after an escaped quote, still inside the string
        b'{"token": "' + b"{" * 100 + b'"}',  # bytes, as the purchase view reads its body
        "[]" * 1000,  # many arrays side by side, each one deep
        '"unterminated ' + "[" * 100,  # a string that never ends holds the rest
    ],
    ids=["in-a-string", "after-an-escaped-quote", "bytes", "side-by-side", "unterminated-string"],
)
def test_brackets_that_do_not_nest_do_not_count(document):
    assert not json_too_deep(document)


@pytest.mark.parametrize(
    "document",
    [_nested(MAX_JSON_DEPTH + 1), _nested(MAX_JSON_DEPTH + 1).encode(), '{"a": "]]]", "b": ' + _nested(65) + "}"],
    ids=["str", "bytes", "after-a-string-of-closers"],
)
def test_nesting_past_the_limit_is_too_deep(document):
    assert json_too_deep(document)
