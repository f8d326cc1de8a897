from django.contrib import admin, messages

from config.audit import audit_record
from config.errors import ApplicationError
from orders.lifecycle import order_cancel
from orders.models import Order, OrderStatusHistory


class HistoryInline(admin.TabularInline):
    model = OrderStatusHistory
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "reason", "at")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "reservation_id",
        "user",
        "sale",
        "quantity",
        "price",
        "status",
        "created_at",
        "expires_at",
    )
    list_filter = ("status", "sale")
    search_fields = ("=number", "reservation_id", "user__username")  # the number: exact, as shoppers quote it
    list_select_related = ("user", "sale")
    inlines = [HistoryInline]
    actions = ["cancel_selected"]

    def get_readonly_fields(self, request, obj=None):
        # Status moves only through the services' compare-and-set transitions, never by a form.
        return [f.name for f in self.model._meta.fields]

    def has_cancel_permission(self, request):
        return request.user.has_perm("orders.cancel_order")

    @admin.action(description="Cancel selected orders awaiting payment (returns their stock)", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        done = 0
        for order in queryset:
            try:
                order_cancel(order_id=order.pk, user_id=None, reason=f"cancelled_by_staff:{request.user.username}")
            except ApplicationError as exc:
                audit_record(user=request.user, obj=order, action="cancel refused", code=exc.code)
                self.message_user(request, f"Order {order.number}: {exc.message}", level=messages.WARNING)
                continue
            audit_record(user=request.user, obj=order, action="cancelled", quantity_returned=order.quantity)
            done += 1
        self.message_user(request, f"Cancelled {done} order(s).")
