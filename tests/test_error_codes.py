"""One registry of error codes: every domain error's code is in it, and the schema's statuses come from it."""

from __future__ import annotations

import importlib

import pytest
from django.test import Client

from config.error_codes import REGISTRY
from config.errors import ApplicationError

ERROR_MODULES = (
    "config.errors",
    "flashsale.errors",
    "flashsale.ratelimits",
    "flashsale.purchase_api",
    "orders.errors",
    "reconciliation.errors",
)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_domain_error_carries_a_registered_code():
    for module in ERROR_MODULES:
        importlib.import_module(module)
    unregistered = [cls.__qualname__ for cls in _subclasses(ApplicationError) if cls.code not in REGISTRY]
    assert unregistered == []


def test_no_domain_error_carries_an_http_status():
    carrying = [cls.__qualname__ for cls in _subclasses(ApplicationError) if "status" in vars(cls)]
    assert carrying == []


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_describes_each_status_by_the_codes_that_answer_it(schema):
    purchase = schema["paths"]["/api/sales/{sale_id}/purchase"]["post"]["responses"]
    assert purchase["409"]["description"] == "sold_out, limit_reached, not_live"
    assert purchase["422"]["description"] == "idempotency_mismatch"
    assert purchase["403"]["description"] == "bad_token, forbidden"


def test_every_operation_documents_the_common_codes(schema):
    common = {str(c.status) for c in REGISTRY.values() if c.common}
    missing = {
        f"{method} {path}": sorted(common - set(op["responses"]))
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if common - set(op["responses"])
    }
    assert missing == {}


def test_an_unregistered_code_fails_where_it_is_raised():
    with pytest.raises(KeyError):
        ApplicationError("oops", code="no_such_code")
