"""Every page, the admin and the API docs run under the Content-Security-Policy with no console
error and no blocked resource: no inline script or style, nothing from another origin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from flashsale import queue
from orders.services import reservations_drain
from tests.browser.support import api_buy, queue_sale
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db

pytestmark = real_db

WATCH_VIOLATIONS = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def _visit(open_page, path: str, user, *, ready: str = "body"):
    """Open ``path`` and return (console errors and page errors, CSP violations)."""
    errors: list[str] = []
    page = open_page("about:blank", user=user, init_script=WATCH_VIOLATIONS)
    page.on(
        "console",
        lambda message: message.type == "error" and errors.append(f"{message.text} ({message.location.get('url')})"),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(path)
    assert response.status == 200, path
    assert "content-security-policy" in response.headers, path
    page.locator(ready).first.wait_for()
    page.wait_for_load_state("networkidle")
    return errors, page.evaluate("window.__violations")


@pytest.fixture
def sale_with_orders(stack):
    sale = queue_sale(quantity=5)  # a line: the console draws its chart
    queue.queue_join(sale_id=sale.pk, user_id=UserFactory().pk)
    plain = live_sale(quantity=5)
    api_buy(UserFactory(), plain.pk)
    reservations_drain(sale_id=plain.pk)
    return sale, plain


SHOPPER_PAGES = ["/sales/", "/sales/{plain}/", "/sales/{queued}/", "/orders/", "/api/docs/"]
ADMIN_PAGES = [
    "/admin/",
    "/admin/flashsale/flashsale/",
    "/admin/flashsale/flashsale/{queued}/change/",
    "/admin/flashsale/flashsale/{plain}/change/",
    "/admin/flashsale/flashsale/{plain}/history/",
    "/admin/orders/order/",
    "/admin/reconciliation/reconciliationrun/",
]


def test_shopper_pages_and_the_api_docs_pass_the_policy(open_page, sale_with_orders):
    queued, plain = sale_with_orders
    shopper = UserFactory()
    for template in SHOPPER_PAGES:
        path = template.format(queued=queued.pk, plain=plain.pk)
        ready = "#swagger-ui .information-container" if path == "/api/docs/" else "main"
        errors, violations = _visit(open_page, path, shopper, ready=ready)
        assert errors == [], path
        assert violations == [], path


def test_the_admin_and_the_sale_console_pass_the_policy(open_page, sale_with_orders):
    queued, plain = sale_with_orders
    admin = User.objects.create_superuser("root-csp", "root@example.com", "x")
    for template in ADMIN_PAGES:
        path = template.format(queued=queued.pk, plain=plain.pk)
        errors, violations = _visit(open_page, path, admin, ready="#content")
        assert errors == [], path
        assert violations == [], path
