"""Writes of orders: persisting reservations in batches (the lifecycle lives in lifecycle.py)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from config.db_router import PRIMARY, pinned_to_primary
from config.log_context import bind_reservation
from flashsale.models import FlashSale
from inventory.models import Stock
from inventory.redis_schema import StreamEntry, reservation_id_bucket, reservation_id_sale, stream_entry_parse
from inventory.selectors import sale_bucket_count
from orders import bulk, stream_consumer
from orders.consistency import note_user_writes
from orders.metrics import persist_batch_record
from orders.models import Order, OrderStatus
from orders.read_cache import orders_changed
from orders.stream_consumer import Outcome

logger = logging.getLogger(__name__)
RETRYABLE_MYSQL_ERRORS = {1213, 1205}  # deadlock, lock wait timeout: the transaction can simply run again
WRITE_ATTEMPTS = 5


def _take_stock(sku_id: int, n: int) -> bool:
    # Why a conditional UPDATE: a read-then-write would let two batches both see room (lost update).
    return Stock.objects.filter(sku_id=sku_id, sold__lte=F("total") - n).update(sold=F("sold") + n) == 1


class _BatchExceedsStock(Exception):
    """The batch's units do not all fit the DB stock: the batch is written again, one stock check per entry."""


def _existing(entries: list[StreamEntry]) -> dict[str, Outcome]:
    rows = (
        Order.objects.using(PRIMARY)
        .filter(reservation_id__in=[e.reservation_id for e in entries])
        .values_list("reservation_id", "number", "status", "failure_reason")
    )
    return {
        rid: Outcome("failed" if status == OrderStatus.FAILED else "created", str(number), reason)
        for rid, number, status, reason in rows
    }


def _write_batch(
    sale: FlashSale, entries: list[StreamEntry], *, first_delivery: bool, one_by_one: bool = False
) -> dict[str, Outcome]:
    with transaction.atomic(using=PRIMARY):
        # An entry read for the first time cannot be in the DB yet (only a persister that read it can
        # have written it); if one is anyway, the unique reservation_id refuses it and the retry looks.
        existing = {} if first_delivery else _existing(entries)
        new = [e for e in entries if e.reservation_id not in existing]
        users = bulk.known_users({e.user_id for e in new})
        failed = {e.reservation_id: "unknown_user" for e in new if e.user_id not in users}
        if one_by_one:
            failed |= {
                e.reservation_id: "out_of_stock"
                for e in new
                if e.reservation_id not in failed and not _take_stock(sale.sku_id, e.quantity)
            }
        ids = bulk.insert_orders(sale=sale, entries=new, failed=failed, now=timezone.now())
        bulk.insert_history(order_ids=[pk for pk, _ in ids.values()])
        units = sum(e.quantity for e in new if e.reservation_id not in failed)
        # Why last: every batch of the SKU needs this one row, so its lock is taken just before COMMIT.
        if not one_by_one and units and not _take_stock(sale.sku_id, units):
            raise _BatchExceedsStock()  # rolls the batch back; written again below, entry by entry
    buyers = {e.user_id for e in new}
    note_user_writes(buyers)
    orders_changed(buyers)  # after the GTID is noted: their cached order reads load anew
    outcomes = dict(existing)
    for e in new:
        reason = failed.get(e.reservation_id, "")
        outcomes[e.reservation_id] = Outcome("failed" if reason else "created", ids[e.reservation_id][1], reason)
    return outcomes


def _write_with_retries(sale: FlashSale, entries: list[StreamEntry], *, first_delivery: bool) -> dict[str, Outcome]:
    one_by_one, attempt = False, 1
    while True:
        try:
            return _write_batch(sale, entries, first_delivery=first_delivery, one_by_one=one_by_one)
        except _BatchExceedsStock:
            one_by_one = True  # not enough DB stock for the whole batch (only if the SKU is oversubscribed)
            continue
        except IntegrityError:
            # Another persister committed some of these reservations first (redelivery, a re-claim):
            # the unique reservation_id refused ours; the next attempt looks them up and skips them.
            if attempt == WRITE_ATTEMPTS:
                raise
            first_delivery = False
        except OperationalError as exc:
            if exc.args[0] not in RETRYABLE_MYSQL_ERRORS or attempt == WRITE_ATTEMPTS:
                raise
        time.sleep(0.01 * attempt)
        attempt += 1


def reservation_persist_batch(
    *, sale_id: int, consumer: str, count: int, sale: FlashSale | None = None, bucket: int = 0
) -> int:
    """Persist one batch of one bucket's stream (a one-bucket sale: the sale's). Returns how many
    entries it handled (0 = drained)."""
    batch = stream_consumer.read_batch(sale_id=sale_id, consumer=consumer, count=count, bucket=bucket)
    if not batch.entries:
        return 0
    try:
        _persist_batch(sale_id, consumer, batch, sale, bucket)
    except BaseException:  # re-read our pending ones first
        stream_consumer.batch_unsettled(sale_id=sale_id, consumer=consumer, bucket=bucket)
        raise
    stream_consumer.batch_settled(sale_id=sale_id, consumer=consumer, bucket=bucket)
    return len(batch.entries)


def _belongs(entry: StreamEntry | None, sale_id: int, bucket: int) -> bool:
    """A well-formed entry whose reservation id names this sale and this bucket (its status key's slot)."""
    rid = entry.reservation_id if entry is not None else ""
    return entry is not None and reservation_id_sale(rid) == sale_id and reservation_id_bucket(rid) == bucket


def _persist_batch(
    sale_id: int, consumer: str, batch: stream_consumer.Batch, sale: FlashSale | None, bucket: int
) -> None:
    entries, poison = [], []
    for entry_id, fields in batch.entries:
        entry = stream_entry_parse(entry_id, fields)
        if _belongs(entry, sale_id, bucket):
            entries.append(entry)
        else:
            poison.append((entry_id, fields))
    if poison:
        stream_consumer.park_poison(sale_id=sale_id, raw=poison, bucket=bucket)
    if not batch.first_delivery:  # read with ">", an entry has been delivered once: only re-reads need counting
        ids = [e.entry_id for e in entries]
        crash_looping = stream_consumer.over_delivered(sale_id=sale_id, consumer=consumer, entry_ids=ids, bucket=bucket)
        if crash_looping:  # delivered again and again without settling: stop trying them
            looping = [e for e in entries if e.entry_id in crash_looping]
            _give_up(sale_id, looping, reason="too_many_deliveries", bucket=bucket)
            entries = [e for e in entries if e.entry_id not in crash_looping]
    if entries:
        started = time.monotonic()
        sale = sale or FlashSale.objects.using(PRIMARY).get(pk=sale_id)
        _persist_entries(sale, entries, first_delivery=batch.first_delivery, bucket=bucket)
        persist_batch_record(entries=len(entries), seconds=time.monotonic() - started)


def _persist_entries(sale: FlashSale, entries: list[StreamEntry], *, first_delivery: bool, bucket: int = 0) -> None:
    try:
        outcomes = _write_with_retries(sale, entries, first_delivery=first_delivery)
    except (OperationalError, InterfaceError):
        raise  # the DB is away or busy: the entries stay pending and the task retries
    except DatabaseError:
        # Something in this batch the DB refuses every time: split it until the culprit stands alone,
        # so one poison entry neither blocks the stream nor fails its neighbours.
        if len(entries) == 1:
            bind_reservation(entries[0].reservation_id)
            logger.exception("reservation %s is refused by the database", entries[0].reservation_id)
            _give_up(sale.pk, entries, reason="unprocessable", bucket=bucket)
            return
        middle = len(entries) // 2
        _persist_entries(sale, entries[:middle], first_delivery=first_delivery, bucket=bucket)
        _persist_entries(sale, entries[middle:], first_delivery=first_delivery, bucket=bucket)
        return
    stream_consumer.settle(sale_id=sale.pk, entries=entries, outcomes=outcomes, bucket=bucket)


def _give_up(sale_id: int, entries: list[StreamEntry], *, reason: str, bucket: int = 0) -> None:
    """Park entries for an operator and end them as visible failures with their stock returned."""
    parked = [(e.entry_id, e.fields) for e in entries]
    stream_consumer.park_poison(sale_id=sale_id, raw=parked, ack=False, reason=reason, bucket=bucket)
    outcomes = {e.reservation_id: Outcome("failed", None, reason) for e in entries}
    stream_consumer.settle(sale_id=sale_id, entries=entries, outcomes=outcomes, bucket=bucket)


@dataclass(frozen=True)
class DrainResult:
    handled: int
    exhausted: bool  # stopped on the time budget: entries may be left, so re-kick


def reservations_drain(*, sale_id: int, consumer: str | None = None, count: int | None = None) -> DrainResult:
    """Persist batches until the sale's streams (one per bucket) are empty or the time budget is spent."""
    consumer = consumer or stream_consumer.consumer_name()
    count = count or settings.FLASHSALE["PERSIST_BATCH_SIZE"]
    deadline = stream_consumer.monotonic_budget()
    handled = 0
    with pinned_to_primary():  # the persister acts on what it just wrote: never a stale replica read
        sale = FlashSale.objects.using(PRIMARY).filter(pk=sale_id).first()  # once per drain, not per batch
        for bucket in range(sale_bucket_count(sale_id)):
            result = _drain(sale_id, consumer, count, deadline, sale=sale, bucket=bucket)
            handled += result.handled
            if result.exhausted:
                return DrainResult(handled, exhausted=True)
    return DrainResult(handled, exhausted=False)


def _drain(sale_id: int, consumer: str, count: int, deadline: float, *, sale, bucket: int) -> DrainResult:
    handled = 0
    debounce_cleared = False
    while True:
        n = reservation_persist_batch(sale_id=sale_id, consumer=consumer, count=count, sale=sale, bucket=bucket)
        handled += n
        if n == 0 and debounce_cleared:
            return DrainResult(handled, exhausted=False)
        if n == 0:
            # Why: a purchase made while the last wake-up's debounce key lives wakes nobody. Delete the
            # key, then read once more: a purchase before the DELETE is in the stream for that read,
            # one after it finds no key and wakes a persister itself. No wake-up is lost.
            stream_consumer.wakeup_debounce_clear(sale_id=sale_id, bucket=bucket)
        debounce_cleared = n == 0
        if time.monotonic() > deadline:
            return DrainResult(handled, exhausted=True)
