from django.contrib import admin

from reconciliation.models import ReconciliationRun


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "sale", "action", "redis_stock", "expected_stock", "drift", "db_sold", "in_flight",
                    "releases_repaired", "attempts")
    list_filter = ("action", "sale")
    date_hierarchy = "created_at"
    list_select_related = ("sale",)

    def has_add_permission(self, request):
        return False  # runs are records of what happened, written only by the reconciler

    def has_change_permission(self, request, obj=None):
        return False
