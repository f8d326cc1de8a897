"""An operator's edit of a preheated sale in the admin, kept true in Redis: the page and the
purchase script must never disagree with the database.

Before the start nothing can be in flight, so any edit is followed by a preheat (it recomputes the
stock from the DB and rewrites the window, the limit and the waiting room). Once the sale has
started, the window and the per-user limit move in Redis at once (a script that touches no stock),
and an edit of what the stock or the line was built from (quantity, waiting room) is refused,
with what to do instead.
"""

from __future__ import annotations

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


def _preheated(sale: FlashSale) -> bool:
    return sale.state not in (FlashSale.State.DRAFT, FlashSale.State.PUBLISHED)


def sale_edit_refusal(*, before: FlashSale, changed: set[str]) -> str | None:
    """Why this edit cannot be saved, or None. ``before`` is the sale as stored."""
    if not _preheated(before) or before.phase == "scheduled":
        return None
    refused = sorted(changed & BUILT_FROM)
    if refused:
        return (
            f"This sale has started, so {', '.join(refused)} can no longer change: units are being sold "
            "against them. To sell more, create another sale; to stop selling now, pause it. "
            "The window and the per-user limit can still be edited."
        )
    return None


def sale_edit_apply(*, sale: FlashSale, before: FlashSale, changed: set[str]) -> str | None:
    """After the save: bring Redis in line with the edited row. Returns what was done, or None."""
    if not _preheated(before) or not changed & REDIS_FIELDS:
        return None
    if before.phase == "scheduled":
        plan = sale_preheat(sale_id=sale.pk)
        return f"preheated again: generation {plan.generation}, stock {plan.stock}"
    window = SaleWindow(
        int(sale.starts_at.timestamp() * 1000),
        int(sale.ends_at.timestamp() * 1000),
        sale.per_user_limit,
        selling=sale.state != FlashSale.State.PAUSED,
    )
    if not sale_window_set(sale_id=sale.pk, window=window):
        return "not in Redis: preheat it to sell"
    return "window and limit moved in Redis"
