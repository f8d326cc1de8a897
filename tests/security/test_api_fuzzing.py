"""API fuzzing: schemathesis against the app's own OpenAPI schema, on the real services.

Every generated request (bodies, headers and path values drawn from the schema) must get an
answer that is not a 5xx, has a declared status and content type, and matches the schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 12

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits"), pytest.mark.slow]


def _fuzz(operation, headers: dict, tried: list):
    @hsettings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)
        tried.append(operation.label)

    return check


def test_no_generated_request_gets_a_5xx_or_an_undeclared_answer():
    live_sale(quantity=1000, limit=5)
    user = UserFactory(username="fuzzer")
    token, _ = Token.objects.using("default").get_or_create(user=user)
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    tried = []

    for operation in operations:
        _fuzz(operation, headers, tried)()
    print(f"{len(tried)} generated requests over {len(operations)} operations: no 5xx, all conform")
