"""The sale's admin: list, edit, and the kill switch (pause/resume). Preheat and the live console
need orders and reconciliation, so that app extends this admin (reconciliation/admin.py)."""

from django.contrib import admin, messages

from config.errors import ApplicationError
from flashsale.models import FlashSale
from flashsale.services import sale_pause, sale_resume


class FlashSaleAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "sku",
        "price",
        "quantity",
        "per_user_limit",
        "starts_at",
        "ends_at",
        "state",
        "phase",
        "generation",
    )
    list_filter = ("state",)
    search_fields = ("title", "sku__name")
    readonly_fields = ("state", "generation", "preheated_at", "created_at")
    actions = ["pause", "resume"]

    @admin.display(description="phase")
    def phase(self, obj):
        return obj.phase

    def has_pause_permission(self, request):
        return request.user.has_perm("flashsale.pause_flashsale")

    @admin.action(description="Pause selected sales (kill switch: purchases refused at once)", permissions=["pause"])
    def pause(self, request, queryset):
        self._each(request, queryset, sale_pause, "paused")

    @admin.action(description="Resume selected sales", permissions=["pause"])
    def resume(self, request, queryset):
        self._each(request, queryset, sale_resume, "resumed")

    def _each(self, request, queryset, service, done: str):
        for sale in queryset:
            try:
                service(sale_id=sale.pk)
                self.message_user(request, f"{sale}: {done}.")
            except ApplicationError as exc:
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)


admin.site.register(FlashSale, FlashSaleAdmin)
