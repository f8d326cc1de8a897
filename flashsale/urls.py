from django.urls import path
from django.views.generic import RedirectView

from flashsale import views

# Page names differ from the API's ("sale-list", "sale-detail"): URL names are global.
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="sales-page", permanent=False), name="home"),
    path("sales/", views.sale_list, name="sales-page"),
    path("sales/<int:sale_id>/", views.sale_detail, name="sale-page"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
]
