from django.db import models
from django.utils.translation import gettext_lazy as _

from flashsale.models import FlashSale


class ReconciliationRun(models.Model):
    """One comparison of a sale's Redis state with the database, with what was done about it."""

    class Action(models.TextChoices):
        NONE = "none", _("In agreement")
        REPAIRED = "repaired", _("Drift repaired")
        UNSTABLE = "unstable", _("Unstable reading, retried, left alone")
        UNAVAILABLE = "unavailable", _("Not preheated in Redis: sale unavailable")

    sale = models.ForeignKey(
        FlashSale, on_delete=models.CASCADE, related_name="reconciliation_runs", verbose_name=_("sale")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    generation = models.PositiveIntegerField(_("generation"), null=True)
    redis_stock = models.IntegerField(
        _("Redis stock"), null=True, help_text=_("Units left in Redis before any repair.")
    )
    in_flight = models.IntegerField(
        _("in flight"), default=0, help_text=_("Units accepted in Redis and not yet in the DB.")
    )
    db_sold = models.IntegerField(
        _("DB sold"), default=0, help_text=_("Units held by live orders (pending payment or paid).")
    )
    expected_stock = models.IntegerField(
        _("expected stock"), null=True, help_text=_("quantity − DB sold − in flight, capped by the SKU.")
    )
    drift = models.IntegerField(_("drift"), default=0, help_text=_("Redis stock − expected stock."))
    releases_repaired = models.IntegerField(
        _("releases repaired"), default=0, help_text=_("Closed orders whose units Redis had not got back.")
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        indexes = [models.Index(fields=["sale", "-created_at"])]

    def __str__(self):
        return f"{self.sale_id} @ {self.created_at:%H:%M:%S}: {self.action} (drift {self.drift})"
