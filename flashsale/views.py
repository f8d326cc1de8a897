"""Server-rendered shopper pages: the sale list, the sale page, log in and out.

The sale list and sale page are the reload-storm pages: their HTML comes from ``flashsale.pages``
(cached, the same for every visitor). "My orders" is the orders app's page.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe
from django_ratelimit.decorators import ratelimit

from config.client_ip import client_ip
from flashsale import pages


@require_safe
@ensure_csrf_cookie  # the page's script sends the cookie's token as X-CSRFToken
def sale_list(request):
    return pages.respond(request, pages.sale_list_html())


@require_safe
@ensure_csrf_cookie
def sale_detail(request, sale_id: int):
    html = pages.sale_detail_html(sale_id)
    if html == pages.MISSING:
        raise Http404("No such sale.")
    return pages.respond(request, html)


# Password guessing is throttled per IP (trusted-proxy aware); past it, a friendly 429 page.
login = ratelimit(
    key=lambda group, request: client_ip(request),
    method="POST",
    block=True,
    rate=lambda group, request: settings.FLASHSALE["RATE_LOGIN"],
)(
    auth_views.LoginView.as_view(
        template_name="registration/login.html",
        redirect_authenticated_user=True,
        extra_context={"auth": "0"},
    )
)


def rate_limited(request, exception=None):
    """RATELIMIT_VIEW: what an HTML page answers past a rate limit (the API answers JSON itself)."""
    response = render(request, "429.html", {"retry_after": 60}, status=429)
    response["Retry-After"] = "60"
    return response


logout = auth_views.LogoutView.as_view(next_page="sales-page")  # POST only (Django 5)
