from django.urls import path

from flashsale import views

urlpatterns = [
    path("", views.home, name="home"),
]
