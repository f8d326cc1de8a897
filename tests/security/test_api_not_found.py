"""An /api/ path that no route matches answers the JSON 404 of the error shape, in DEBUG and not.

Django's technical 404 page (DEBUG) ignores ``handler404``; the catch-all route at the end of the
API's routes (config/urls.py) answers instead.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import real_db

pytestmark = real_db

UNMATCHED = [
    ("get", "/api/nope"),
    ("get", "/api/sales/abc/"),
    ("get", "/api/sales"),  # no slash: not redirected, since a redirect would drop a POST's body
    ("get", "/api/orders/1/pay/extra"),
    ("get", "/api/x%0Ay"),  # a newline in the path, which "." in a route's regex would not match
    ("get", "/api"),
    ("post", "/api/nope"),  # no CSRF token: still the JSON 404, not the HTML CSRF refusal
    ("post", "/api"),
    ("delete", "/api/sales/1/purchase/"),
]


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize("method, path", UNMATCHED)
def test_an_unmatched_api_path_is_a_json_404(debug, method, path):
    response = getattr(Client(), method)(path)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")


@pytest.mark.parametrize("method, path", UNMATCHED)
def test_an_unmatched_api_path_answers_the_not_found_code(debug, method, path):
    assert getattr(Client(), method)(path).json()["code"] == "not_found"


def test_a_page_outside_the_api_keeps_django_s_own_404(debug):
    response = Client().get("/no-such-page/")
    assert not response["Content-Type"].startswith("application/json")
