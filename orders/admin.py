from django.contrib import admin

from orders.models import Order, OrderStatusHistory


class HistoryInline(admin.TabularInline):
    model = OrderStatusHistory
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "reason", "at")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "reservation_id", "user", "sale", "quantity", "price", "status", "created_at", "expires_at")
    list_filter = ("status", "sale")
    search_fields = ("reservation_id", "user__username")
    list_select_related = ("user", "sale")
    inlines = [HistoryInline]

    def get_readonly_fields(self, request, obj=None):
        # Status moves only through the services' compare-and-set transitions, never by a form.
        return [f.name for f in self.model._meta.fields]
