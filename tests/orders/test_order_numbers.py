"""The public order number: a UUIDv7 made in the process, stored in MariaDB's native uuid type."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest
from django.db import connections

from orders.numbers import order_number_ms, order_number_new
from tests.factories import UserFactory, live_sale
from tests.helpers import buy, client_for, real_db
from tests.support.order_numbers import make_numbers

PER_PROCESS = 50_000


def _two_processes() -> list[list[tuple[int, int, int]]]:
    ctx = multiprocessing.get_context("spawn")  # two fresh interpreters: nothing shared but the clock
    out = ctx.Queue()
    procs = [ctx.Process(target=make_numbers, args=(PER_PROCESS, out)) for _ in range(2)]
    for p in procs:
        p.start()
    made = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return made


def test_two_processes_make_100000_numbers_without_a_collision_that_sort_by_creation_time():
    made = _two_processes()
    numbers = [n for batch in made for n, _, _ in batch]
    assert len(set(numbers)) == 2 * PER_PROCESS
    # Each number carries the millisecond it was made in...
    assert all(before <= order_number_ms(uuid.UUID(int=n)) <= after for batch in made for n, before, after in batch)
    # ...so sorting the numbers of both processes sorts them by that time,
    by_number = sorted((n, order_number_ms(uuid.UUID(int=n))) for n in numbers)
    assert all(a[1] <= b[1] for a, b in zip(by_number, by_number[1:]))
    # and one process's numbers sort in the order it made them.
    assert all([n for n, _, _ in batch] == sorted(n for n, _, _ in batch) for batch in made)


def test_a_number_is_a_version_7_uuid_with_random_bits_a_neighbour_does_not_tell():
    a, b = order_number_new(), order_number_new()
    assert (a.version, a.variant) == (7, "specified in RFC 4122")
    assert (a.int & (2**62 - 1)) != (b.int & (2**62 - 1))


@real_db
def test_the_number_column_is_the_native_uuid_type_on_mariadb():
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW COLUMNS FROM orders_order WHERE Field = 'number'")
        assert cursor.fetchone()[1] == "uuid"


@real_db
@pytest.mark.usefixtures("no_captcha", "no_rate_limits")
def test_the_integer_urls_of_an_order_answer_404_and_the_number_ones_work():
    from orders.models import Order
    from orders.services import reservations_drain

    sale = live_sale(quantity=5)
    shopper = UserFactory()
    client = client_for(shopper)
    buy(client, sale.pk)
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(user=shopper)
    for path in (f"/api/orders/{order.pk}/", f"/api/orders/{order.pk}/history"):
        assert client.get(path).json()["code"] == "not_found"
    for path in (f"/api/orders/{order.pk}/pay", f"/api/orders/{order.pk}/cancel"):
        assert client.post(path).status_code == 404
    assert client.get(f"/api/orders/{order.number}/").json()["number"] == str(order.number)
    assert "id" not in client.get(f"/api/orders/{order.number}/").json()
