"""Server-rendered shopper pages: the sale list, the sale page, log in and out.

The sale list and sale page are the reload-storm pages: their HTML comes from ``flashsale.pages``
(cached, the same for every visitor). "My orders" is the orders app's page.
"""

from django.contrib.auth import views as auth_views
from django.http import Http404
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from config.login_throttle import login_throttled
from flashsale import pages


@require_safe
@ensure_csrf_cookie  # the page's script sends the cookie's token as X-CSRFToken
def sale_list(request):
    return pages.respond(request, pages.sale_list_html())


@require_safe
@ensure_csrf_cookie
def sale_detail(request, sale_id: int):
    html = pages.sale_detail_html(sale_id)
    if html is None:
        raise Http404("No such sale.")
    return pages.respond(request, html)


# Password guessing meets a growing wait, per client network and per account (config.login_throttle).
login = login_throttled(
    auth_views.LoginView.as_view(
        template_name="registration/login.html",
        redirect_authenticated_user=True,
        extra_context={"auth": "0"},
    )
)


logout = auth_views.LogoutView.as_view(next_page="sales-page")  # POST only (Django 5)
