from django.db import models
from django.db.models import F, Q


class Sku(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    image_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SKU"

    def __str__(self):
        return self.name


class Stock(models.Model):
    """The database stock of one SKU: the source of truth. ``sold`` only moves by guarded UPDATEs."""

    sku = models.OneToOneField(Sku, on_delete=models.PROTECT, related_name="stock", primary_key=True)
    total = models.PositiveIntegerField()
    sold = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(sold__lte=F("total")), name="stock_sold_lte_total"),
        ]

    def __str__(self):
        return f"{self.sku}: {self.sold}/{self.total}"

    @property
    def available(self) -> int:
        return self.total - self.sold
