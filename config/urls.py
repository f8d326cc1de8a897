from captcha import views as captcha_views
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found, server_error
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health, metrics
from config.errors import error_json
from config.login_throttle import login_throttled
from config.token_api import AuthTokenApi
from flashsale import apis as sale_apis
from orders import apis as order_apis


@csrf_exempt  # it serves nothing; a CSRF refusal would answer a POST with an HTML page instead
def api_not_found(request):
    """Any /api/ path no route matches: the JSON 404, also in DEBUG (whose technical 404 ignores handler404)."""
    return error_json("not_found")


api = [
    path("auth/token", AuthTokenApi.as_view(), name="auth-token"),
    path("captcha", sale_apis.CaptchaApi.as_view(), name="captcha"),
    path("sales/", sale_apis.SaleListApi.as_view(), name="sale-list"),
    path("sales/<int:sale_id>/", sale_apis.SaleDetailApi.as_view(), name="sale-detail"),
    path("sales/<int:sale_id>/token", sale_apis.TokenApi.as_view(), name="sale-token"),
    path("sales/<int:sale_id>/purchase", sale_apis.purchase_view, name="sale-purchase"),
    path("sales/<int:sale_id>/queue", sale_apis.queue_view, name="sale-queue"),
    path("reservations/<str:reservation_id>", order_apis.ReservationStatusApi.as_view(), name="reservation"),
    path("orders/", order_apis.OrderListApi.as_view(), name="order-list"),
    # By the public number only: an integer (the old URLs) matches nothing here and is a JSON 404.
    path("orders/<uuid:number>/", order_apis.order_detail_view, name="order-detail"),
    path("orders/<uuid:number>/history", order_apis.OrderHistoryApi.as_view(), name="order-history"),
    path("orders/<uuid:number>/pay", order_apis.OrderPayApi.as_view(), name="order-pay"),
    path("orders/<uuid:number>/cancel", order_apis.OrderCancelApi.as_view(), name="order-cancel"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view: its start-up script is a URL of its own, not an inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Last, after every API route. A prefix match of nothing, so it takes every path, even one with
    # a newline (which ".*" would not match).
    re_path(r"^", api_not_found, name="api-not-found"),
]

urlpatterns = [
    # Browsers ask for /favicon.ico on every page without a <link rel="icon"> (the admin's): a 404
    # would be a console error on each of them.
    path("favicon.ico", lambda request: HttpResponseRedirect(static("img/favicon.svg")), name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # The admin's login, throttled like the shop's (a growing wait per account and per network).
    path("admin/login/", login_throttled(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("api", api_not_found),  # else APPEND_SLASH redirects it, and a POST in DEBUG is a RuntimeError
    # Only the challenge's image: the package's refresh/ view would create challenges past our limit.
    re_path(r"^captcha/image/(?P<key>\w+)/$", captcha_views.captcha_image, name="captcha-image", kwargs={"scale": 1}),
    path("", include("flashsale.urls")),
    path("", include("orders.urls")),
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return error_json("not_found")
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return error_json("internal_error")
    return server_error(request)
