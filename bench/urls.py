"""The app's URLs plus three bench-only endpoints (never part of config/urls.py)."""

from django.urls import include, path

from bench import views
from config.urls import handler404, handler500  # noqa: F401  (same error pages as the app)

urlpatterns = [
    path("bench/ping", views.ping, name="bench-ping"),
    path("bench/auth-ping", views.AuthPingApi.as_view(), name="bench-auth-ping"),
    path("bench/naive/<int:sale_id>/purchase", views.NaivePurchaseApi.as_view(), name="bench-naive-purchase"),
    path("", include("config.urls")),
]
