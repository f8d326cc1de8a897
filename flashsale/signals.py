"""Invalidation of the cached sale reads when a sale or its SKU is saved (the admin, preheat,
pause), after the commit: the next read loads the new row (config.cache_aside)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from flashsale import selectors
from flashsale.models import FlashSale
from inventory.models import Sku

logger = logging.getLogger(__name__)


def _after_commit(sale_ids: list[int]) -> None:
    def run():
        try:
            selectors.sales_changed(sale_ids)
        except Exception:  # Redis away: the copies age out within their fresh and stale periods
            logger.warning("could not invalidate cached sales %s", sale_ids, exc_info=True)

    transaction.on_commit(run, robust=True)


def _sale_saved(sender, instance: FlashSale, **kwargs) -> None:
    _after_commit([instance.pk])


def _sku_saved(sender, instance: Sku, **kwargs) -> None:
    # Its sales show its name, description and image.
    _after_commit(list(FlashSale.objects.using("default").filter(sku_id=instance.pk).values_list("pk", flat=True)))


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_sale_saved, sender=FlashSale, dispatch_uid="flashsale.sale_cache")
        signal.connect(_sku_saved, sender=Sku, dispatch_uid="flashsale.sku_cache")
