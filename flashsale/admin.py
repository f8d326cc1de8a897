"""The operator's console for sales: preheat (preview → apply), pause/resume, live Redis vs DB."""
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from config.errors import ApplicationError
from flashsale.models import FlashSale
from flashsale.selectors import sale_console
from inventory.services import sale_preheat, sale_set_selling


@admin.register(FlashSale)
class FlashSaleAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "sku", "price", "quantity", "per_user_limit", "starts_at", "ends_at", "state", "phase",
                    "generation")
    list_filter = ("state",)
    search_fields = ("title", "sku__name")
    readonly_fields = ("state", "generation", "preheated_at", "created_at")
    actions = ["preheat", "pause", "resume"]
    change_form_template = "admin/flashsale/flashsale/change_form.html"

    @admin.display(description="phase")
    def phase(self, obj):
        return obj.phase

    def has_preheat_permission(self, request):
        return request.user.has_perm("flashsale.preheat_flashsale")

    def has_pause_permission(self, request):
        return request.user.has_perm("flashsale.pause_flashsale")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "console": sale_console(sale_id=int(object_id)) if object_id else None}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Preheat selected sales into Redis (preview first)", permissions=["preheat"])
    def preheat(self, request, queryset):
        sales = list(queryset)
        if request.POST.get("confirm") != "yes":
            return self._preheat_preview(request, sales)
        force = request.POST.get("force") == "yes"
        for sale in sales:
            try:
                plan = sale_preheat(sale_id=sale.pk, force=force)
                self.message_user(request, f"{sale}: preheated, generation {plan.generation}, stock {plan.stock}.")
            except ApplicationError as exc:
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)
        return None

    def _preheat_preview(self, request, sales):
        # First step: what each preheat would write, beside what Redis holds now; a second POST applies.
        plans = []
        for sale in sales:
            try:
                plans.append((sale, sale_preheat(sale_id=sale.pk, dry_run=True), None))
            except ApplicationError as exc:
                plans.append((sale, None, exc.message))
        context = {**self.admin_site.each_context(request), "plans": plans, "opts": self.model._meta,
                   "action": "preheat", "title": "Preheat: preview"}
        return TemplateResponse(request, "admin/flashsale/preheat_preview.html", context)

    @admin.action(description="Pause selected sales (kill switch: purchases refused at once)", permissions=["pause"])
    def pause(self, request, queryset):
        self._set_selling(request, queryset, on=False)

    @admin.action(description="Resume selected sales", permissions=["pause"])
    def resume(self, request, queryset):
        self._set_selling(request, queryset, on=True)

    def _set_selling(self, request, queryset, *, on: bool):
        for sale in queryset:
            try:
                sale_set_selling(sale_id=sale.pk, on=on)
                self.message_user(request, f"{sale}: {'resumed' if on else 'paused'}.")
            except ApplicationError as exc:
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)
