"""The shopper's "my orders" page: per user, rendered on each request (read-your-writes aware)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from flashsale import pages
from orders.models import OrderStatus
from orders.selectors import orders_for_user

ORDERS_SHOWN = 50
FAILURE_TEXT = {
    "out_of_stock": _("The last units went to other shoppers before your order was written."),
    "unknown_user": _("Your account could not be found when the order was written."),
}
FAILURE_FALLBACK = _("The order could not be created.")


@require_safe
@login_required
def my_orders(request):
    orders = list(orders_for_user(user_id=request.user.id)[:ORDERS_SHOWN])
    for order in orders:
        order.reason_text = FAILURE_TEXT.get(order.failure_reason, FAILURE_FALLBACK)
    return render(
        request,
        "orders/orders.html",
        {
            "orders": orders,
            "auth": "1",
            "server_now": pages.server_now_ms(),
            "pay_available": pages.pay_available(),
            "awaiting": OrderStatus.PENDING_PAYMENT,
            "here": request.path,
        },
    )
