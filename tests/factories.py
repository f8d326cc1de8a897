"""Factories for the models, and a helper that makes a live, preheated sale."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from flashsale.models import FlashSale
from inventory.models import Sku, Stock


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"shopper{n}")
    password = factory.django.Password("pw")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Phone {n}")
    price = "999.00"
    stock = factory.RelatedFactory("tests.factories.StockFactory", factory_related_name="sku")


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    sku = factory.SubFactory(SkuFactory, stock=None)
    total = 1000


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlashSale

    sku = factory.SubFactory(SkuFactory)
    title = factory.Sequence(lambda n: f"Sale {n}")
    price = "199.00"
    quantity = 100
    per_user_limit = 1
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=5))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


def live_sale(*, quantity: int = 100, limit: int = 1, sku_total: int | None = None, **kwargs) -> FlashSale:
    """A sale open now, preheated into Redis."""
    from reconciliation.preheat import sale_preheat

    sale = SaleFactory(quantity=quantity, per_user_limit=limit, **kwargs)
    Stock.objects.filter(sku=sale.sku).update(total=sku_total if sku_total is not None else quantity)
    sale_preheat(sale_id=sale.pk)
    sale.refresh_from_db(using="default")
    return sale


def users(n: int, prefix: str = "u") -> list:
    """n users, created in one query (password hashing per user would dominate big tests)."""
    User = get_user_model()
    User.objects.bulk_create([User(username=f"{prefix}{i}", password="!") for i in range(n)])
    return list(User.objects.using("default").filter(username__startswith=prefix).order_by("id"))
