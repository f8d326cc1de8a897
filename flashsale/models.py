from datetime import timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

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
        DRAFT = "draft", "Draft (not preheated)"
        PUBLISHED = "published", "Published (preheat pending: beat preheats it PREHEAT_AHEAD_SECONDS before start)"
        SCHEDULED = "scheduled", "Scheduled (preheated: sells within its window)"
        PAUSED = "paused", "Paused (kill switch)"

    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="sales")
    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    per_user_limit = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    generation = models.PositiveIntegerField(default=0, help_text="Bumped by every preheat.")
    preheated_at = models.DateTimeField(null=True, blank=True)
    # The waiting room (flashsale/queue.py): read by the scripts from Redis, written there by preheat.
    queue_enabled = models.BooleanField(default=False, help_text="Shoppers line up; the line admits them in order.")
    admit_per_second = models.PositiveIntegerField(default=50, help_text="Shoppers admitted from the line each second.")
    admission_seconds = models.PositiveIntegerField(default=120, help_text="How long an admission lasts.")
    prequeue_seconds = models.PositiveIntegerField(
        default=600, help_text="How long before the start the line opens (shuffled at the start)."
    )
    stock_buckets = models.PositiveSmallIntegerField(
        default=1,
        help_text="Split the stock over this many Redis hash tags (1-16): up to that many Redis Cluster "
        "masters for one hot sale. Takes effect at the next preheat, which needs nothing in flight to change it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FlashSaleQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        permissions = [
            ("preheat_flashsale", "Can preheat a sale into Redis"),
            ("pause_flashsale", "Can pause and resume a sale"),
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
