"""Writes of orders: persisting reservations in batches (the lifecycle lives in lifecycle.py)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F

from config.db_router import pinned_to_primary
from config.metrics import record_persist_batch
from flashsale.models import FlashSale
from inventory.models import Stock
from orders import persistence
from orders.consistency import note_user_writes
from orders.models import Order, OrderStatus, OrderStatusHistory
from orders.persistence import Entry, Outcome

logger = logging.getLogger(__name__)
RETRYABLE_MYSQL_ERRORS = {1213, 1205}  # deadlock, lock wait timeout: the transaction can simply run again
WRITE_ATTEMPTS = 5


def _take_stock(sku_id: int, n: int) -> bool:
    # Why a conditional UPDATE: a read-then-write would let two batches both see room (lost update).
    return Stock.objects.filter(sku_id=sku_id, sold__lte=F("total") - n).update(sold=F("sold") + n) == 1


def _new_orders(sale: FlashSale, entries: list[Entry]) -> list[Order]:
    """Orders for entries not yet in the DB: created while stock allows, failed otherwise."""
    users = set(get_user_model().objects.filter(id__in={e.user_id for e in entries}).values_list("id", flat=True))
    ok = [e for e in entries if e.user_id in users]
    failed = {e.reservation_id: "unknown_user" for e in entries if e.user_id not in users}
    if ok and not _take_stock(sale.sku_id, sum(e.quantity for e in ok)):
        # Not enough DB stock for the whole batch (only if the SKU is oversubscribed): go one by one.
        for e in ok:
            if not _take_stock(sale.sku_id, e.quantity):
                failed[e.reservation_id] = "out_of_stock"
    orders = []
    for e in entries:
        reason = failed.get(e.reservation_id, "")
        orders.append(Order(
            reservation_id=e.reservation_id, user_id=e.user_id, sale_id=sale.id, quantity=e.quantity,
            price=sale.price, reserved_at=e.reserved_at,
            status=OrderStatus.FAILED if reason else OrderStatus.PENDING_PAYMENT,
            failure_reason=reason, stock_returned=bool(reason),
            expires_at=None if reason else persistence.payment_deadline(e.reserved_at),
        ))
    return orders


def _write_batch(sale: FlashSale, entries: list[Entry]) -> dict[str, Outcome]:
    with transaction.atomic(using="default"):
        rids = [e.reservation_id for e in entries]
        existing = {o.reservation_id: o for o in Order.objects.using("default").filter(reservation_id__in=rids)}
        created = Order.objects.bulk_create(_new_orders(sale, [e for e in entries if e.reservation_id not in existing]))
        OrderStatusHistory.objects.bulk_create(
            [OrderStatusHistory(order_id=o.pk, to_status=o.status, reason=o.failure_reason or "persisted") for o in created]
        )
    note_user_writes({o.user_id for o in created})
    by_rid = {**existing, **{o.reservation_id: o for o in created}}
    return {
        rid: Outcome("failed" if o.status == OrderStatus.FAILED else "created", o.pk, o.failure_reason)
        for rid, o in by_rid.items()
    }


def _write_with_retries(sale: FlashSale, entries: list[Entry]) -> dict[str, Outcome]:
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return _write_batch(sale, entries)
        except IntegrityError:
            # Another persister committed some of these reservations first (redelivery, a re-claim):
            # the unique reservation_id refused ours; the next attempt sees theirs and skips them.
            if attempt == WRITE_ATTEMPTS:
                raise
        except OperationalError as exc:
            if exc.args[0] not in RETRYABLE_MYSQL_ERRORS or attempt == WRITE_ATTEMPTS:
                raise
        time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def reservation_persist_batch(*, sale_id: int, consumer: str, count: int) -> int:
    """Persist one batch of the sale's stream. Returns how many entries it handled (0 = drained)."""
    raw = persistence.read_batch(sale_id=sale_id, consumer=consumer, count=count)
    if not raw:
        return 0
    entries, poison = [], []
    for entry_id, fields in raw:
        entry = persistence.parse_entry(entry_id, fields)
        if entry is None or persistence.sale_of(entry.reservation_id) != sale_id:
            poison.append((entry_id, fields))
        else:
            entries.append(entry)
    if poison:
        persistence.park_poison(sale_id=sale_id, raw=poison)
    worn = persistence.over_delivered(sale_id=sale_id, consumer=consumer, entry_ids=[e.entry_id for e in entries])
    if worn:  # delivered again and again without settling (a crash loop): stop trying them
        _give_up(sale_id, [e for e in entries if e.entry_id in worn], reason="too_many_deliveries")
        entries = [e for e in entries if e.entry_id not in worn]
    if entries:
        started = time.monotonic()
        _persist_entries(FlashSale.objects.using("default").get(pk=sale_id), entries)
        record_persist_batch(entries=len(entries), seconds=time.monotonic() - started)
    return len(raw)


def _persist_entries(sale: FlashSale, entries: list[Entry]) -> None:
    try:
        outcomes = _write_with_retries(sale, entries)
    except (OperationalError, InterfaceError):
        raise  # the DB is away or busy: the entries stay pending and the task retries
    except DatabaseError:
        # Something in this batch the DB refuses every time: split it until the culprit stands alone,
        # so one poison entry neither blocks the stream nor fails its neighbours.
        if len(entries) == 1:
            logger.exception("reservation %s is refused by the database", entries[0].reservation_id)
            _give_up(sale.pk, entries, reason="unprocessable")
            return
        middle = len(entries) // 2
        _persist_entries(sale, entries[:middle])
        _persist_entries(sale, entries[middle:])
        return
    persistence.settle(sale_id=sale.pk, entries=entries, outcomes=outcomes)


def _give_up(sale_id: int, entries: list[Entry], *, reason: str) -> None:
    """Park entries for an operator and end them as visible failures with their stock returned."""
    persistence.park_poison(sale_id=sale_id, raw=[(e.entry_id, {"rid": e.reservation_id, "reason": reason}) for e in entries],
                            ack=False)
    persistence.settle(sale_id=sale_id, entries=entries, outcomes={e.reservation_id: Outcome("failed", None, reason) for e in entries})


@dataclass(frozen=True)
class DrainResult:
    handled: int
    exhausted: bool  # stopped on the time budget: entries may be left, so re-kick


def reservations_drain(*, sale_id: int, consumer: str | None = None, count: int | None = None) -> DrainResult:
    """Persist batches until the stream is empty or the time budget is spent."""
    consumer = consumer or persistence.consumer_name()
    count = count or settings.FLASHSALE["PERSIST_BATCH_SIZE"]
    deadline = persistence.monotonic_budget()
    with pinned_to_primary():  # the persister acts on what it just wrote: never a stale replica read
        return _drain(sale_id, consumer, count, deadline)


def _drain(sale_id: int, consumer: str, count: int, deadline: float) -> DrainResult:
    handled = 0
    while True:
        n = reservation_persist_batch(sale_id=sale_id, consumer=consumer, count=count)
        handled += n
        if n == 0:
            return DrainResult(handled, exhausted=False)
        if time.monotonic() > deadline:
            return DrainResult(handled, exhausted=True)
