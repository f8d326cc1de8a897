"""Reconciliation runs (read-only records), and the sale admin's actions that need orders:
preheat (preview, then apply) and the live Redis-against-database console."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from config.audit import audit_record
from config.errors import ApplicationError
from flashsale.admin import FlashSaleAdmin
from flashsale.models import FlashSale
from inventory.dead_letters import dead_letter_discard, dead_letter_replay, dead_letters_list
from reconciliation.models import ReconciliationRun
from reconciliation.preheat import sale_preheat, sale_publish
from reconciliation.sale_edits import sale_edit_apply, sale_edit_refusal
from reconciliation.selectors import sale_console


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "sale",
        "action",
        "redis_stock",
        "expected_stock",
        "drift",
        "db_sold",
        "in_flight",
        "releases_repaired",
        "attempts",
    )
    list_filter = ("action", "sale")
    date_hierarchy = "created_at"
    list_select_related = ("sale",)

    def has_add_permission(self, request):
        return False  # runs are records of what happened, written only by the reconciler

    def has_change_permission(self, request, obj=None):
        return False


class FlashSaleConsoleAdmin(FlashSaleAdmin):
    actions = ["publish", "preheat", *FlashSaleAdmin.actions]
    change_form_template = "admin/flashsale/flashsale/change_form.html"

    def has_preheat_permission(self, request):
        return request.user.has_perm("flashsale.preheat_flashsale")

    @admin.action(description="Publish selected drafts (beat preheats each PREHEAT_AHEAD_SECONDS before its start)")
    def publish(self, request, queryset):
        for sale in queryset:
            published = sale_publish(sale_id=sale.pk)
            sale.refresh_from_db(using="default")
            audit_record(
                user=request.user, obj=sale, action="published" if published else "publish refused", state=sale.state
            )
            if published:
                self.message_user(request, f"{sale}: published ({sale.get_state_display()}).")
            else:
                self.message_user(request, f"{sale}: not a draft ({sale.state}): nothing to publish.", messages.WARNING)

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)

        class PreheatedSaleForm(base):
            def clean(self):
                cleaned = super().clean()
                if self.instance.pk:
                    before = FlashSale.objects.using("default").get(pk=self.instance.pk)
                    refusal = sale_edit_refusal(before=before, changed=set(self.changed_data))
                    if refusal:
                        raise ValidationError(refusal)
                return cleaned

        return PreheatedSaleForm

    def save_model(self, request, obj, form, change):
        before = FlashSale.objects.using("default").get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is None:
            return
        changed = set(form.changed_data)
        try:
            done = sale_edit_apply(sale=obj, before=before, changed=changed)
        except ApplicationError as exc:
            # Why roll back: a saved row that Redis does not follow is exactly the disagreement to avoid.
            transaction.set_rollback(True, using="default")
            self.message_user(request, f"{obj}: not saved: {exc.message} Try again in a moment.", messages.ERROR)
            return
        if done:
            audit_record(user=request.user, obj=obj, action="edited", fields=",".join(sorted(changed)), redis=done)
            self.message_user(request, f"{obj}: {done}.")

    def get_urls(self):
        view = self.admin_site.admin_view(self.dead_letters_view)
        own = [path("<int:sale_id>/dead-letters/", view, name="flashsale_flashsale_dead_letters")]
        return own + super().get_urls()

    def dead_letters_view(self, request, sale_id: int):
        """The sale's dead letters: list them; replay one after a fix, or discard it (each recorded)."""
        sale = get_object_or_404(FlashSale, pk=sale_id)
        if not self.has_preheat_permission(request):
            return HttpResponseRedirect(reverse("admin:flashsale_flashsale_change", args=[sale.pk]))
        if request.method == "POST":
            bucket = request.POST.get("bucket", "0")
            bucket = int(bucket) if bucket.isdigit() and int(bucket) < 16 else 0
            self._dead_letter_act(request, sale, request.POST.get("do", ""), request.POST.get("entry_id", ""), bucket)
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": sale,
            "title": f"Dead letters of {sale}",
            "letters": dead_letters_list(sale_id=sale.pk),
        }
        return TemplateResponse(request, "admin/flashsale/flashsale/dead_letters.html", context)

    def _dead_letter_act(self, request, sale, do: str, entry_id: str, bucket: int) -> None:
        letters = dead_letters_list(sale_id=sale.pk)
        letter = next((x for x in letters if x.entry_id == entry_id and x.bucket == bucket), None)
        rid = letter.reservation_id if letter else "?"
        if do == "replay":
            replay = dead_letter_replay(sale_id=sale.pk, entry_id=entry_id, bucket=bucket)
            audit_record(
                user=request.user,
                obj=sale,
                action=f"dead letter replay {replay.outcome.lower()}",
                entry=entry_id,
                **({"bucket": bucket} if bucket else {}),  # only a split sale's letters name theirs
                reservation=rid,
                detail=replay.detail,
            )
            if replay.outcome == "OK":
                self.message_user(request, f"Entry {entry_id} is back on the stream as {replay.detail}.")
            elif replay.outcome == "REFUSED":
                self.message_user(
                    request,
                    f"Entry {entry_id} was settled as a failure ({replay.detail}): its units went back and the "
                    "shopper was told. A replay would sell them twice; discard it once you have dealt with it.",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"Entry {entry_id} is no longer parked.", messages.WARNING)
        elif do == "discard":
            gone = dead_letter_discard(sale_id=sale.pk, entry_id=entry_id, bucket=bucket)
            audit_record(
                user=request.user,
                obj=sale,
                action="dead letter discarded",
                entry=entry_id,
                **({"bucket": bucket} if bucket else {}),  # only a split sale's letters name theirs
                reservation=rid,
            )
            self.message_user(request, f"Entry {entry_id} discarded." if gone else f"Entry {entry_id} was gone.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "console": sale_console(sale_id=int(object_id)) if object_id else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Preheat selected sales into Redis (preview first)", permissions=["preheat"])
    def preheat(self, request, queryset):
        sales = list(queryset)
        if request.POST.get("confirm") != "yes":
            return self._preheat_preview(request, sales)
        force = request.POST.get("force") == "yes"
        action = "preheated (forced)" if force else "preheated"
        for sale in sales:
            try:
                plan = sale_preheat(sale_id=sale.pk, force=force)
            except ApplicationError as exc:
                audit_record(user=request.user, obj=sale, action="preheat refused", code=exc.code, force=force)
                self.message_user(request, f"{sale}: {exc.message}", level=messages.ERROR)
                continue
            audit_record(
                user=request.user,
                obj=sale,
                action=action,
                generation=plan.generation,
                stock=plan.stock,
                db_sold=plan.db_sold,
                in_flight=plan.inflight,
                rebuilt=plan.rebuild,
            )
            self.message_user(request, f"{sale}: preheated, generation {plan.generation}, stock {plan.stock}.")
        return None

    def _preheat_preview(self, request, sales):
        # First step: what each preheat would write, beside what Redis holds now; a second POST applies.
        plans = []
        for sale in sales:
            try:
                plans.append((sale, sale_preheat(sale_id=sale.pk, dry_run=True), None))
            except ApplicationError as exc:
                plans.append((sale, None, exc.message))
        context = {
            **self.admin_site.each_context(request),
            "plans": plans,
            "opts": self.model._meta,
            "action": "preheat",
            "title": "Preheat: preview",
        }
        return TemplateResponse(request, "admin/flashsale/preheat_preview.html", context)


# Replaces flashsale's registration: that app is installed (and its admin loaded) before this one.
admin.site.unregister(FlashSale)
admin.site.register(FlashSale, FlashSaleConsoleAdmin)
