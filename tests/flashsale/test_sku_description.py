"""The SKU's description and image: edited in the admin, shown on the sale page and in the API
at once (the save invalidates the cached sale)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from inventory.models import Sku
from tests.factories import UserFactory, live_sale
from tests.helpers import real_db

pytestmark = real_db


def _superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="ops", is_staff=True, is_superuser=True))
    return client


def _edit_in_admin(client: Client, sku: Sku, **changes) -> None:
    url = reverse("admin:inventory_sku_change", args=[sku.pk])
    stock = sku.stock
    data = {
        "name": sku.name,
        "price": str(sku.price),
        "description": sku.description,
        "image_url": sku.image_url,
        "stock-TOTAL_FORMS": "1",
        "stock-INITIAL_FORMS": "1",
        "stock-MIN_NUM_FORMS": "0",
        "stock-MAX_NUM_FORMS": "1",
        "stock-0-id": str(stock.pk),
        "stock-0-sku": str(sku.pk),
        "stock-0-total": str(stock.total),
        **changes,
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-2000:]


def test_description_and_image_edited_in_the_admin_show_on_the_sale_page_and_in_the_api_at_once():
    sale = live_sale()
    assert APIClient().get(f"/api/sales/{sale.pk}/").json()["description"] == ""  # cached now
    Client().get(f"/sales/{sale.pk}/")  # the page too
    _edit_in_admin(_superuser_client(), sale.sku, description="Six-inch screen.", image_url="https://img.example/p.png")
    api = APIClient().get(f"/api/sales/{sale.pk}/").json()
    assert (api["description"], api["image_url"]) == ("Six-inch screen.", "https://img.example/p.png")
    page = Client().get(f"/sales/{sale.pk}/").content.decode()
    assert "Six-inch screen." in page
    assert 'src="https://img.example/p.png"' in page
