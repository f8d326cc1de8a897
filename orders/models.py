from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from flashsale.models import FlashSale
from orders.numbers import order_number_new


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


# Orders whose units count as sold in the database.
LIVE_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)


class Order(models.Model):
    # The public order number (API, pages, admin search); the integer key stays internal.
    number = models.UUIDField(_("order number"), unique=True, default=order_number_new, editable=False)
    # "<sale>[.<bucket>]-<24 hex>": up to 46 characters at the largest sale id the parser accepts.
    reservation_id = models.CharField(_("reservation id"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("user")
    )
    sale = models.ForeignKey(FlashSale, on_delete=models.PROTECT, related_name="orders", verbose_name=_("sale"))
    quantity = models.PositiveIntegerField(_("quantity"))
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, help_text=_("Unit price at purchase, in the sale's currency.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    failure_reason = models.CharField(_("failure reason"), max_length=64, blank=True)
    reserved_at = models.DateTimeField(_("reserved at"), help_text=_("When Redis accepted the purchase."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("pay by"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    stock_returned = models.BooleanField(_("stock returned"), default=False)
    payment_ref = models.CharField(_("payment reference"), max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        permissions = [("cancel_order", _("Can cancel an order awaiting payment"))]
        indexes = [
            models.Index(fields=["sale", "status"]),
            models.Index(fields=["user", "sale"]),
            models.Index(fields=["status", "expires_at"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive")]

    def __str__(self):
        return _("Order %(number)s (%(status)s)") % {"number": self.number, "status": self.get_status_display()}

    @property
    def amount(self):
        return self.price * self.quantity


class OrderStatusHistory(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history", verbose_name=_("order"))
    from_status = models.CharField(_("from status"), max_length=16, blank=True)
    to_status = models.CharField(_("to status"), max_length=16)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("order status change")
        verbose_name_plural = _("order status history")
