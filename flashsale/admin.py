"""The sale's admin: list, edit, the kill switch (pause/resume) and holding the waiting room's
admission. Preheat and the live console need orders and reconciliation, so that app extends this
admin (reconciliation/admin.py)."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.audit import audit_record
from config.errors import ApplicationError
from flashsale.models import FlashSale
from flashsale.queue import queue_pause
from flashsale.services import sale_pause, sale_resume

# What an action did, in the operator's language (the audit trail records the English key).
DONE_TEXT = {
    "paused": gettext_lazy("paused"),
    "resumed": gettext_lazy("resumed"),
    "admission held": gettext_lazy("admission held"),  # i18n: the key is the audit record
    "admission resumed": gettext_lazy("admission resumed"),  # i18n: the key is the audit record
}


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
        self._each(request, queryset, sale_pause, "paused")

    @admin.action(description=gettext_lazy("Resume selected sales"), permissions=["pause"])
    def resume(self, request, queryset):
        self._each(request, queryset, sale_resume, "resumed")

    @admin.action(
        description=gettext_lazy("Hold the waiting room's admission (shoppers keep their places)"),
        permissions=["pause"],
    )
    def hold_admission(self, request, queryset):
        self._each_line(request, queryset, paused=True, done="admission held")  # i18n: the audit record

    @admin.action(description=gettext_lazy("Resume the waiting room's admission"), permissions=["pause"])
    def resume_admission(self, request, queryset):
        self._each_line(request, queryset, paused=False, done="admission resumed")  # i18n: the audit record

    def _each_line(self, request, queryset, *, paused: bool, done: str):
        for sale in queryset:
            applied = queue_pause(sale_id=sale.pk, paused=paused)
            audit_record(
                user=request.user,
                obj=sale,
                action=done,
                # i18n: the audit trail is English, like the logs
                applied="yes" if applied else "no (no line in Redis)",
            )
            if applied:
                self.message_user(request, _("%(sale)s: %(done)s.") % {"sale": sale, "done": DONE_TEXT[done]})
            else:
                self.message_user(
                    request,
                    _("%(sale)s: no waiting room in Redis (queue off or not preheated).") % {"sale": sale},
                    messages.WARNING,
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
            self.message_user(request, _("%(sale)s: %(done)s.") % {"sale": sale, "done": DONE_TEXT[done]})


admin.site.register(FlashSale, FlashSaleAdmin)
