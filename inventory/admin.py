from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from inventory.models import Sku, Stock


class StockInline(admin.StackedInline):
    model = Stock
    can_delete = False
    readonly_fields = ("sold", "updated_at")  # sold moves only through guarded UPDATEs


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "price", "stock_total", "stock_sold")
    search_fields = ("name",)
    inlines = [StockInline]

    @admin.display(description=_("total"))
    def stock_total(self, obj):
        return getattr(getattr(obj, "stock", None), "total", None)

    @admin.display(description=_("sold"))
    def stock_sold(self, obj):
        return getattr(getattr(obj, "stock", None), "sold", None)
