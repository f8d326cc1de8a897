from django.db import models

from flashsale.models import FlashSale


class ReconciliationRun(models.Model):
    """One comparison of a sale's Redis state with the database, with what was done about it."""

    class Action(models.TextChoices):
        NONE = "none", "In agreement"
        REPAIRED = "repaired", "Drift repaired"
        UNSTABLE = "unstable", "Unstable reading, retried, left alone"
        UNAVAILABLE = "unavailable", "Not preheated in Redis: sale unavailable"

    sale = models.ForeignKey(FlashSale, on_delete=models.CASCADE, related_name="reconciliation_runs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    generation = models.PositiveIntegerField(null=True)
    redis_stock = models.IntegerField(null=True, help_text="Units left in Redis before any repair.")
    in_flight = models.IntegerField(default=0, help_text="Units accepted in Redis and not yet in the DB.")
    db_sold = models.IntegerField(default=0, help_text="Units held by live orders (pending payment or paid).")
    expected_stock = models.IntegerField(null=True, help_text="quantity − DB sold − in flight, capped by the SKU.")
    drift = models.IntegerField(default=0, help_text="Redis stock − expected stock.")
    releases_repaired = models.IntegerField(default=0, help_text="Closed orders whose units Redis had not got back.")
    attempts = models.PositiveSmallIntegerField(default=1)
    action = models.CharField(max_length=16, choices=Action.choices)
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sale", "-created_at"])]

    def __str__(self):
        return f"{self.sale_id} @ {self.created_at:%H:%M:%S}: {self.action} (drift {self.drift})"
