"""An operator's edit of a preheated sale in the admin, kept true in Redis: the page and the
purchase script must never disagree with the database.

Before the start nothing can be in flight, so any edit is followed by a preheat (it recomputes the
stock from the DB and rewrites the window, the limit and the waiting room). Once the sale has
started, the window and the per-user limit move in Redis at once (a script that touches no stock),
and an edit of what the stock or the line was built from (quantity, waiting room) is refused,
with what to do instead.
"""

from __future__ import annotations

from typing import NamedTuple

from django.utils.translation import gettext as _

from flashsale.models import FlashSale
from inventory.services import SaleWindow, sale_window_set
from reconciliation.preheat import sale_preheat

WINDOW_FIELDS = {"starts_at", "ends_at", "per_user_limit"}
BUILT_FROM = {
    "quantity",
    "stock_buckets",
    "queue_enabled",
    "admit_per_second",
    "admission_seconds",
    "prequeue_seconds",
}
REDIS_FIELDS = WINDOW_FIELDS | BUILT_FROM


class EditDone(NamedTuple):
    """What an edit did in Redis: ``record`` in English for the audit trail, ``text`` for the operator."""

    record: str
    text: str


def _preheated(sale: FlashSale) -> bool:
    return sale.state not in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED)


def sale_edit_refusal(*, before: FlashSale, changed: set[str]) -> str | None:
    """Why this edit cannot be saved, or None. ``before`` is the sale as stored."""
    if not _preheated(before) or before.phase == "scheduled":
        return None
    refused = sorted(changed & BUILT_FROM)
    if refused:
        return _(
            "This sale has started, so %(fields)s can no longer change: units are being sold "
            "against them. To sell more, create another sale; to stop selling now, pause it. "
            "The window and the per-user limit can still be edited."
        ) % {"fields": ", ".join(str(FlashSale._meta.get_field(name).verbose_name) for name in refused)}
    return None


def sale_edit_apply(*, sale: FlashSale, before: FlashSale, changed: set[str]) -> EditDone | None:
    """After the save: bring Redis in line with the edited row. Returns what was done, or None."""
    if not _preheated(before) or not changed & REDIS_FIELDS:
        return None
    if before.phase == "scheduled":
        plan = sale_preheat(sale_id=sale.pk)
        numbers = {"generation": plan.generation, "stock": plan.stock}
        return EditDone(
            f"preheated again: generation {plan.generation}, stock {plan.stock}",  # i18n: the audit record
            _("preheated again: generation %(generation)s, stock %(stock)s") % numbers,
        )
    window = SaleWindow(
        int(sale.starts_at.timestamp() * 1000),
        int(sale.ends_at.timestamp() * 1000),
        sale.per_user_limit,
        selling=sale.state != FlashSale.State.PAUSED,
    )
    if not sale_window_set(sale_id=sale.pk, window=window):
        # i18n: the audit record (the operator reads the translation beside it)
        return EditDone("not in Redis: preheat it to sell", _("not in Redis: preheat it to sell"))
    # i18n: the audit record (the operator reads the translation beside it)
    return EditDone("window and limit moved in Redis", _("window and limit moved in Redis"))
