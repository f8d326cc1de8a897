"""The SQL of one persisted batch: its orders in one multi-row INSERT, their history in one INSERT … SELECT.

Why not ``bulk_create``: building a model instance per row and compiling every field of every row
was most of the persister's CPU (docs/performance.md). Here a row is five placeholders; the values
every row of a batch shares (sale, price, status, timestamps) are escaped once, by the driver, and
written into the row template. MariaDB answers the INSERT with ``RETURNING`` (10.5+), so the new ids
come back in the same round trip. Other databases (SQLite in the embedded mode) use ``bulk_create``.
Table and column names come from the models' ``_meta``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from config.db_router import PRIMARY
from inventory.redis_schema import StreamEntry
from orders.models import Order, OrderStatus, OrderStatusHistory
from orders.numbers import order_number_new

# The INSERT's columns: first the five that differ per row, then those a row template fixes.
PER_ROW = ("number", "reservation_id", "user", "quantity", "reserved_at", "expires_at")
SHARED = ("sale", "price", "status", "failure_reason", "created_at", "stock_returned", "payment_ref")


def _column(model, field: str) -> str:
    return connections[PRIMARY].ops.quote_name(model._meta.get_field(field).column)


def _table(model) -> str:
    return connections[PRIMARY].ops.quote_name(model._meta.db_table)


def _ints(values) -> str:
    # Safe to inline: int() makes each one a number, so nothing else can reach the SQL text.
    return ",".join(str(int(v)) for v in values)


def known_users(user_ids: set[int]) -> set[int]:
    """Which of these users exist (one indexed SELECT)."""
    if not user_ids:
        return set()
    user = get_user_model()
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(
            f"SELECT {_column(user, 'id')} FROM {_table(user)} WHERE {_column(user, 'id')} IN ({_ints(user_ids)})"
        )
        return {row[0] for row in cursor.fetchall()}


def insert_orders(
    *, sale, entries: list[StreamEntry], failed: dict[str, str], now: datetime
) -> dict[str, tuple[int, str]]:
    """Insert one order per entry (failed ones with their reason); returns reservation id -> (order id, number)."""
    if not entries:
        return {}
    if connections[PRIMARY].vendor == "mysql":
        return _insert_returning(sale, entries, failed, now)
    return _insert_orm(sale, entries, failed, now)


def insert_history(*, order_ids: list[int]) -> None:
    """The first history row of each order, copied from the orders themselves (no Python rows)."""
    if not order_ids:
        return
    h, o = OrderStatusHistory, Order
    reason, status = _column(o, "failure_reason"), _column(o, "status")
    sql = (
        f"INSERT INTO {_table(h)} ({_column(h, 'order')}, {_column(h, 'from_status')}, {_column(h, 'to_status')}, "
        f"{_column(h, 'reason')}, {_column(h, 'at')}) "
        f"SELECT {_column(o, 'id')}, '', {status}, CASE WHEN {reason} = '' THEN 'persisted' ELSE {reason} END, "
        f"{_column(o, 'created_at')} FROM {_table(o)} WHERE {_column(o, 'id')} IN ({_ints(order_ids)})"
    )
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(sql)


def _insert_returning(
    sale, entries: list[StreamEntry], failed: dict[str, str], now: datetime
) -> dict[str, tuple[int, str]]:
    conn = connections[PRIMARY]
    tz, timeout = conn.timezone, timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT)
    created = _sql_datetime(now, tz)
    templates: dict[str, str] = {}
    rows, params = [], []
    for e in entries:
        reason = failed.get(e.reservation_id, "")
        template = templates.get(reason)
        if template is None:
            template = templates[reason] = _row_template(conn, sale, reason, created)
        rows.append(template)
        params += (
            str(order_number_new()),  # the native uuid column takes the hyphenated text
            e.reservation_id,
            e.user_id,
            e.quantity,
            _sql_datetime(e.reserved_at, tz),
            None if reason else _sql_datetime(e.reserved_at + timeout, tz),
        )
    columns = ", ".join(_column(Order, f) for f in PER_ROW + SHARED)
    sql = (
        f"INSERT INTO {_table(Order)} ({columns}) VALUES {','.join(rows)} "
        f"RETURNING {_column(Order, 'id')}, {_column(Order, 'reservation_id')}, {_column(Order, 'number')}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return {rid: (order_id, str(number)) for order_id, rid, number in cursor.fetchall()}


def _row_template(conn, sale, reason: str, created: str) -> str:
    """``(%s,%s,%s,%s,%s,<the shared values, escaped by the driver>)`` for rows with this failure reason."""
    status = OrderStatus.FAILED if reason else OrderStatus.PENDING_PAYMENT
    conn.ensure_connection()
    shared = (sale.pk, sale.price, str(status), reason, created, bool(reason), "")
    literal = conn.connection.literal  # the driver's own escaping, as execute() would apply it
    fixed = ",".join(_text(literal(v)).replace("%", "%%") for v in shared)
    return "(" + ",".join(["%s"] * len(PER_ROW)) + "," + fixed + ")"


def _text(value) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


def _sql_datetime(value: datetime, tz) -> str:
    # What Django stores for a DateTimeField on MySQL with USE_TZ: naive, in the connection's zone (UTC).
    return value.astimezone(tz).replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert_orm(sale, entries: list[StreamEntry], failed: dict[str, str], now: datetime) -> dict[str, tuple[int, str]]:
    timeout = timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT)
    orders = []
    for e in entries:
        reason = failed.get(e.reservation_id, "")
        orders.append(
            Order(
                reservation_id=e.reservation_id,
                user_id=e.user_id,
                sale_id=sale.pk,
                quantity=e.quantity,
                price=sale.price,
                reserved_at=e.reserved_at,
                created_at=now,
                status=OrderStatus.FAILED if reason else OrderStatus.PENDING_PAYMENT,
                failure_reason=reason,
                stock_returned=bool(reason),
                expires_at=None if reason else e.reserved_at + timeout,
            )
        )
    created = Order.objects.using(PRIMARY).bulk_create(orders)
    return {o.reservation_id: (o.pk, str(o.number)) for o in created}
