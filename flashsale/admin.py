"""The sale's admin: list, edit, the kill switch (pause/resume) and holding the waiting room's
admission. Preheat and the live console need orders and reconciliation, so that app extends this
admin (reconciliation/admin.py)."""

from django.contrib import admin, messages

from config.audit import audit_record
from config.errors import ApplicationError
from flashsale.models import FlashSale
from flashsale.queue import queue_pause
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
    actions = ["pause", "resume", "hold_admission", "resume_admission"]

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

    @admin.action(description="Hold the waiting room's admission (shoppers keep their places)", permissions=["pause"])
    def hold_admission(self, request, queryset):
        self._each_line(request, queryset, paused=True, done="admission held")

    @admin.action(description="Resume the waiting room's admission", permissions=["pause"])
    def resume_admission(self, request, queryset):
        self._each_line(request, queryset, paused=False, done="admission resumed")

    def _each_line(self, request, queryset, *, paused: bool, done: str):
        for sale in queryset:
            applied = queue_pause(sale_id=sale.pk, paused=paused)
            audit_record(
                user=request.user, obj=sale, action=done, applied="yes" if applied else "no (no line in Redis)"
            )
            if applied:
                self.message_user(request, f"{sale}: {done}.")
            else:
                self.message_user(
                    request, f"{sale}: no waiting room in Redis (queue off or not preheated).", messages.WARNING
                )

    def _each(self, request, queryset, service, done: str):
        for sale in queryset:
            try:
                service(sale_id=sale.pk)
            except ApplicationError as exc:
                audit_record(user=request.user, obj=sale, action=f"{done} refused", code=exc.code)
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)
                continue
            audit_record(user=request.user, obj=sale, action=done, generation=sale.generation)
            self.message_user(request, f"{sale}: {done}.")


admin.site.register(FlashSale, FlashSaleAdmin)
