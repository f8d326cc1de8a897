from django.contrib import admin, messages
from django.template.response import TemplateResponse

from config.errors import ApplicationError
from flashsale.models import FlashSale
from inventory.services import sale_preheat


@admin.register(FlashSale)
class FlashSaleAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "sku", "price", "quantity", "per_user_limit", "starts_at", "ends_at", "state", "phase", "generation")
    list_filter = ("state",)
    search_fields = ("title", "sku__name")
    readonly_fields = ("generation", "preheated_at", "created_at")
    actions = ["preheat"]

    @admin.display(description="phase")
    def phase(self, obj):
        return obj.phase

    @admin.action(description="Preheat selected sales into Redis")
    def preheat(self, request, queryset):
        sales = list(queryset)
        if request.POST.get("confirm") != "yes":
            # First step: a preview of what each preheat would write; a second POST confirms.
            plans = []
            for sale in sales:
                try:
                    plans.append((sale, sale_preheat(sale_id=sale.pk, dry_run=True), None))
                except ApplicationError as exc:
                    plans.append((sale, None, exc.message))
            context = {**self.admin_site.each_context(request), "plans": plans, "opts": self.model._meta,
                       "action": "preheat", "title": "Preheat: preview"}
            return TemplateResponse(request, "admin/flashsale/preheat_preview.html", context)
        force = request.POST.get("force") == "yes"
        for sale in sales:
            try:
                plan = sale_preheat(sale_id=sale.pk, force=force)
                self.message_user(request, f"{sale}: preheated, generation {plan.generation}, stock {plan.stock}.")
            except ApplicationError as exc:
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)
        return None
