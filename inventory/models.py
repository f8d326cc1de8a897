from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Sku(models.Model):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(_("list price"), max_digits=10, decimal_places=2)
    image_url = models.CharField(_("image URL"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")

    def __str__(self):
        return self.name


class Stock(models.Model):
    """The database stock of one SKU: the source of truth. ``sold`` only moves by guarded UPDATEs."""

    sku = models.OneToOneField(
        Sku, on_delete=models.PROTECT, related_name="stock", primary_key=True, verbose_name=_("SKU")
    )
    total = models.PositiveIntegerField(_("total"))
    sold = models.PositiveIntegerField(_("sold"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.CheckConstraint(condition=Q(sold__lte=F("total")), name="stock_sold_lte_total"),
        ]

    def __str__(self):
        return f"{self.sku}: {self.sold}/{self.total}"

    @property
    def available(self) -> int:
        return self.total - self.sold
