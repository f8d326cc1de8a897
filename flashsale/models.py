from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.money import CURRENCY_CHOICES, DEFAULT_CURRENCY, currency
from inventory.models import Sku

SWEEP_AFTER_END = timedelta(days=1)  # a closed sale is still reconciled and drained this long after its end


class FlashSaleQuerySet(models.QuerySet):
    def visible(self):
        """What shoppers see: every sale but drafts."""
        return self.exclude(state=FlashSale.State.DRAFT)

    def worth_sweeping(self):
        """Sales the background jobs look at: preheated, and open or closed within SWEEP_AFTER_END."""
        return self.visible().filter(ends_at__gte=timezone.now() - SWEEP_AFTER_END)


class FlashSale(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft (not preheated)")
        PUBLISHED = "published", _("Published (preheat pending: beat preheats it PREHEAT_AHEAD_SECONDS before start)")
        SCHEDULED = "scheduled", _("Scheduled (preheated: sells within its window)")
        PAUSED = "paused", _("Paused (kill switch)")

    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="sales", verbose_name=_("SKU"))
    title = models.CharField(_("title"), max_length=200)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        choices=CURRENCY_CHOICES,
        default=DEFAULT_CURRENCY,
        help_text=_("The currency of the sale's and its SKU's prices (TWD: whole dollars)."),
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    per_user_limit = models.PositiveIntegerField(_("per-person limit"), default=1)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    generation = models.PositiveIntegerField(_("generation"), default=0, help_text=_("Bumped by every preheat."))
    preheated_at = models.DateTimeField(_("preheated at"), null=True, blank=True)
    # The waiting room (flashsale/queue.py): read by the scripts from Redis, written there by preheat.
    queue_enabled = models.BooleanField(
        _("waiting room"), default=False, help_text=_("Shoppers line up; the line admits them in order.")
    )
    admit_per_second = models.PositiveIntegerField(
        _("admitted a second"), default=50, help_text=_("Shoppers admitted from the line each second.")
    )
    admission_seconds = models.PositiveIntegerField(
        _("admission seconds"), default=120, help_text=_("How long an admission lasts.")
    )
    prequeue_seconds = models.PositiveIntegerField(
        _("pre-queue seconds"),
        default=600,
        help_text=_("How long before the start the line opens (shuffled at the start)."),
    )
    stock_buckets = models.PositiveSmallIntegerField(
        _("stock buckets"),
        default=1,
        help_text=_(
            "Split the stock over this many Redis hash tags (1-16): up to that many Redis Cluster "
            "masters for one hot sale. Takes effect at the next preheat, which needs nothing in flight to change it."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = FlashSaleQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("flash sale")
        verbose_name_plural = _("flash sales")
        permissions = [
            ("preheat_flashsale", _("Can preheat a sale into Redis")),
            ("pause_flashsale", _("Can pause and resume a sale")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="sale_window_positive"),
            models.CheckConstraint(condition=Q(per_user_limit__gte=1), name="sale_limit_positive"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="sale_quantity_positive"),
            models.CheckConstraint(condition=Q(admit_per_second__gte=1), name="sale_admit_rate_positive"),
            models.CheckConstraint(condition=Q(admission_seconds__gte=10), name="sale_admission_at_least_10s"),
            models.CheckConstraint(
                condition=Q(stock_buckets__gte=1, stock_buckets__lte=16), name="sale_stock_buckets_1_to_16"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    def clean(self):
        super().clean()
        if self.price is not None and self.currency in dict(CURRENCY_CHOICES):
            decimals = currency(self.currency).decimals
            if self.price != round(self.price, decimals):
                raise ValidationError(
                    {
                        "price": _("%(currency)s prices have %(decimals)d decimal places.")
                        % {"currency": self.currency, "decimals": decimals}
                    }
                )

    @property
    def phase(self) -> str:
        """What a shopper sees: draft, scheduled, live, paused or ended."""
        now = timezone.now()
        if self.state == self.State.DRAFT:
            return "draft"
        if now >= self.ends_at:
            return "ended"
        if self.state == self.State.PAUSED:
            return "paused"
        return "live" if now >= self.starts_at else "scheduled"
