from django.urls import path

from orders import views

urlpatterns = [
    path("orders/", views.my_orders, name="orders-page"),
]
