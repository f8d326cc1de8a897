"""The sale's admin: list, edit, the kill switch (pause/resume) and holding the waiting room's
admission. Preheat and the live console need orders and reconciliation, so that app extends this
admin (reconciliation/admin.py)."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
        "currency",
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

    @admin.display(description=gettext_lazy("phase"))
    def phase(self, obj):
        return obj.phase

    def has_pause_permission(self, request):
        return request.user.has_perm("flashsale.pause_flashsale")

    @admin.action(
        description=gettext_lazy("Pause selected sales (kill switch: purchases refused at once)"), permissions=["pause"]
    )
    def pause(self, request, queryset):
        self._each(request, queryset, sale_pause, gettext_lazy("paused"))

    @admin.action(description=gettext_lazy("Resume selected sales"), permissions=["pause"])
    def resume(self, request, queryset):
        self._each(request, queryset, sale_resume, gettext_lazy("resumed"))

    @admin.action(
        description=gettext_lazy("Hold the waiting room's admission (shoppers keep their places)"),
        permissions=["pause"],
    )
    def hold_admission(self, request, queryset):
        self._each_line(request, queryset, paused=True, done=gettext_lazy("admission held"))

    @admin.action(description=gettext_lazy("Resume the waiting room's admission"), permissions=["pause"])
    def resume_admission(self, request, queryset):
        self._each_line(request, queryset, paused=False, done=gettext_lazy("admission resumed"))

    def _each_line(self, request, queryset, *, paused: bool, done):
        for sale in queryset:
            if queue_pause(sale_id=sale.pk, paused=paused):
                self.message_user(request, _("%(sale)s: %(done)s.") % {"sale": sale, "done": done})
            else:
                self.message_user(
                    request,
                    _("%(sale)s: no waiting room in Redis (queue off or not preheated).") % {"sale": sale},
                    messages.WARNING,
                )

    def _each(self, request, queryset, service, done):
        for sale in queryset:
            try:
                service(sale_id=sale.pk)
                self.message_user(request, _("%(sale)s: %(done)s.") % {"sale": sale, "done": done})
            except ApplicationError as exc:
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)


admin.site.register(FlashSale, FlashSaleAdmin)
