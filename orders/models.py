from django.conf import settings
from django.db import models
from django.db.models import Q

from flashsale.models import FlashSale
from orders.numbers import order_number_new


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


# Orders whose units count as sold in the database.
LIVE_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)


class Order(models.Model):
    # The public order number (API, pages, admin search); the integer key stays internal.
    number = models.UUIDField(unique=True, default=order_number_new, editable=False)
    # "<sale>[.<bucket>]-<24 hex>": up to 46 characters at the largest sale id the parser accepts.
    reservation_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    sale = models.ForeignKey(FlashSale, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2, help_text="Unit price at purchase.")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    failure_reason = models.CharField(max_length=64, blank=True)
    reserved_at = models.DateTimeField(help_text="When Redis accepted the purchase.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    stock_returned = models.BooleanField(default=False)
    payment_ref = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("cancel_order", "Can cancel an order awaiting payment")]
        indexes = [
            models.Index(fields=["sale", "status"]),
            models.Index(fields=["user", "sale"]),
            models.Index(fields=["status", "expires_at"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive")]

    def __str__(self):
        return f"Order {self.number} ({self.status})"

    @property
    def amount(self):
        return self.price * self.quantity


class OrderStatusHistory(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "order status history"
