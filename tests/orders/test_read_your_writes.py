"""Reads go to the real replica, yet a shopper sees their new order even when the replica lags."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.selectors import orders_for_user
from orders.services import reservations_drain
from tests.factories import UserFactory, live_sale
from tests.helpers import buy, client_for, on_each_redis, real_db

pytestmark = [on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


@pytest.fixture
def stopped_replica(stack):
    stack.mariadb.wait_for_replica()
    stack.mariadb.stop_replica_sql_thread()
    yield
    stack.mariadb.start_replica_sql_thread()
    stack.mariadb.wait_for_replica()


@real_db
def test_with_the_replica_stopped_a_shopper_still_sees_their_new_order(stopped_replica):
    sale = live_sale(quantity=10)
    shopper = UserFactory()
    client = client_for(shopper)
    rid = buy(client, sale.pk).json()["reservation_id"]
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(reservation_id=rid)

    # The replica really is behind: it does not have the order.
    assert not Order.objects.using("replica").filter(pk=order.pk).exists()

    status = client.get(f"/api/reservations/{rid}").json()
    assert status["status"] == "created"
    assert status["order_number"] == str(order.number)
    assert [o["number"] for o in client.get("/api/orders/").json()["results"]] == [str(order.number)]
    assert client.get(f"/api/orders/{order.number}/").status_code == 200


@real_db
def test_reads_without_a_pending_write_are_served_by_the_replica(stack):
    sale = live_sale(quantity=10)
    shopper = UserFactory()
    buy(client_for(shopper), sale.pk)
    reservations_drain(sale_id=sale.pk)
    stack.mariadb.wait_for_replica()
    # Caught up: the user's reads go to the replica.
    assert orders_for_user(user_id=shopper.pk).db == "replica"
    stack.mariadb.stop_replica_sql_thread()
    try:
        buy(client_for(shopper), sale.pk)  # limit 1: refused, no write: still the replica
        assert orders_for_user(user_id=shopper.pk).db == "replica"
    finally:
        stack.mariadb.start_replica_sql_thread()


@real_db
def test_another_users_order_and_reservation_are_404():
    sale = live_sale(quantity=10)
    alice, mallory = client_for(UserFactory()), client_for(UserFactory())
    rid = buy(alice, sale.pk).json()["reservation_id"]
    reservations_drain(sale_id=sale.pk)
    order = Order.objects.using("default").get(reservation_id=rid)
    assert mallory.get(f"/api/reservations/{rid}").status_code == 404
    assert mallory.get(f"/api/orders/{order.number}/").status_code == 404
    assert mallory.get("/api/orders/").json()["results"] == []
    for guess in (order.pk, order.pk + 1, 1):  # the integer key is no URL at all
        assert mallory.get(f"/api/orders/{guess}/").json()["code"] == "not_found"
    assert mallory.get("/api/reservations/not-a-reservation").status_code == 404


@real_db
def test_a_marker_noted_late_by_an_older_commit_does_not_hide_a_newer_write(stack):
    """Two sessions commit writes for one user, A then B, and note them in the other order (real threads)."""
    import threading

    from django.contrib.auth import get_user_model
    from django.db import connections, transaction

    from orders.consistency import alias_for_user_reads, note_user_writes

    shopper = UserFactory()
    users = get_user_model().objects.using("default").filter(pk=shopper.pk)
    a_committed, b_noted = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def session(
        name: str, commit_when: threading.Event | None, note_when: threading.Event | None, done: threading.Event
    ):
        try:
            if commit_when is not None:
                assert commit_when.wait(20)
            with transaction.atomic(using="default"):
                users.update(first_name=name)
            if name == "a":
                a_committed.set()
            if note_when is not None:
                assert note_when.wait(20)
            note_user_writes([shopper.pk])
            done.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    a_done, b_go = threading.Event(), threading.Event()
    a = threading.Thread(target=session, args=("a", None, b_noted, a_done))
    b = threading.Thread(target=session, args=("b", b_go, None, b_noted))
    a.start()
    b.start()  # it waits for b_go before committing
    assert a_committed.wait(20)
    stack.mariadb.wait_for_replica()  # the replica has A's write...
    stack.mariadb.stop_replica_sql_thread()  # ...and will not get B's
    try:
        b_go.set()
        a.join(30)
        b.join(30)
        assert not errors, errors
        assert a_done.is_set()
        assert b_noted.is_set()
        assert get_user_model().objects.using("replica").get(pk=shopper.pk).first_name == "a"
        # B's newer marker stands although A noted last, so the user's reads go to the primary.
        assert alias_for_user_reads(shopper.pk) == "default"
    finally:
        stack.mariadb.start_replica_sql_thread()
        stack.mariadb.wait_for_replica()
    assert alias_for_user_reads(shopper.pk) == "replica"
