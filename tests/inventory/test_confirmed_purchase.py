"""REDIS_REPLICA_ACKS: a purchase answered 202 only once replicas hold it; one they did not confirm
is taken back (abandon.lua) unless a persister has it; too few replicas refuse purchases.

The replicated paths (WAIT answered, WAIT short, a failover) run on a 3+3 cluster in
tests/faults/test_fault_redis_failover.py; here the suite's Redis and cluster have no replicas.
"""

from __future__ import annotations

import pytest

from config import health
from config.redis import get_redis
from config.replica_acks import readings_forget
from inventory.confirmed_purchase import reservation_abandon
from inventory.redis_schema import CONSUMER_GROUP, home_bucket, sale_keys
from inventory.selectors import bucket_stocks
from orders import stream_consumer
from orders.models import Order
from orders.services import reservations_drain
from tests.factories import UserFactory, live_sale
from tests.helpers import assert_invariants, buy, client_for, on_each_redis, real_db, redis_stock, stream_len

pytestmark = [real_db, on_each_redis, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


@pytest.fixture
def acks(settings):
    """Ask one replica ack per purchase, with no reading left from an earlier test."""
    readings_forget()
    settings.REDIS_REPLICA_ACKS = 1
    yield
    readings_forget()


@pytest.fixture
def fresh_probe(settings):
    """/readyz reads the services afresh: no answer kept from an earlier test."""
    settings.READYZ_CACHE_SECONDS = 0
    health.reset_connections()
    yield
    health.reset_connections()


def _bought(sale, user, idem: str | None = None) -> str:
    response = buy(client_for(user), sale.pk, idem=idem)
    assert response.status_code == 202, response.content
    return response.json()["reservation_id"]


def _abandon(sale, rid: str, user, idem: str | None = None) -> str:
    return reservation_abandon(reservation_id=rid, user_id=user.pk, idempotency_key=idem, reservation_ttl_ms=60_000)


def test_with_acks_a_redis_without_replicas_answers_503_sale_unavailable(acks):
    sale = live_sale(quantity=5)
    response = buy(client_for(UserFactory()), sale.pk)
    assert response.status_code == 503
    assert response.json()["code"] == "sale_unavailable"


def test_with_acks_a_redis_without_replicas_takes_no_stock(acks):
    sale = live_sale(quantity=5)
    buy(client_for(UserFactory()), sale.pk)
    assert redis_stock(sale.pk) == 5


def test_readyz_says_the_redis_has_too_few_replicas_for_the_setting(acks, fresh_probe, client):
    checks = client.get("/readyz").json()["checks"]
    assert "fewer than 1 replica" in checks["redis_replicas"]


def test_too_few_replicas_make_readyz_degraded_not_unready(acks, fresh_probe, client):
    assert client.get("/readyz").status_code == 200  # every instance shares it: pulling them would not help


def test_readyz_finds_nothing_to_say_about_replicas_with_acks_zero(fresh_probe, client):
    assert client.get("/readyz").json()["checks"]["redis_replicas"] == "ok"


def test_an_abandoned_reservation_gives_its_unit_and_the_buyer_s_count_back():
    sale, user = live_sale(quantity=5), UserFactory()
    rid = _bought(sale, user)
    assert _abandon(sale, rid, user) == "ABANDONED"
    assert redis_stock(sale.pk) == 5
    assert get_redis().hget(sale_keys(sale.pk).bought, str(user.pk)) == "0"


def test_an_abandoned_reservation_leaves_the_stream_and_nothing_is_in_flight():
    sale, user = live_sale(quantity=5), UserFactory()
    _abandon(sale, _bought(sale, user), user)
    assert stream_len(sale.pk) == 0
    assert get_redis().hget(sale_keys(sale.pk).meta, "inflight") == "0"


def test_an_abandoned_reservation_reads_failed_not_replicated():
    sale, user = live_sale(quantity=5), UserFactory()
    rid = _bought(sale, user)
    _abandon(sale, rid, user)
    body = client_for(user).get(f"/api/reservations/{rid}").json()
    assert (body["status"], body.get("reason")) == ("failed", "not_replicated")


def test_abandoning_twice_gives_the_unit_back_once():
    sale, user = live_sale(quantity=5), UserFactory()
    rid = _bought(sale, user)
    _abandon(sale, rid, user)
    assert _abandon(sale, rid, user) == "failed"
    assert redis_stock(sale.pk) == 5


def test_a_replayed_idempotency_key_after_an_abandon_answers_503_not_202():
    sale, user = live_sale(quantity=5), UserFactory()
    client = client_for(user)
    token = client.post(f"/api/sales/{sale.pk}/token", {}, format="json").json()["token"]
    first = buy(client, sale.pk, token=token, idem="k1")
    _abandon(sale, first.json()["reservation_id"], user, idem="k1")
    assert buy(client, sale.pk, token=token, idem="k1").status_code == 503


def test_a_reservation_a_persister_has_read_is_left_to_it():
    sale, user = live_sale(quantity=5), UserFactory()
    rid = _bought(sale, user)
    stream_consumer.read_batch(sale_id=sale.pk, consumer="someone", count=10)  # delivered: pending
    assert _abandon(sale, rid, user) == "HELD"
    assert redis_stock(sale.pk) == 4


def test_a_reservation_left_to_its_persister_ends_as_an_order_with_the_books_balanced():
    sale, user = live_sale(quantity=5), UserFactory()
    rid = _bought(sale, user)
    stream_consumer.read_batch(sale_id=sale.pk, consumer="someone", count=10)
    _abandon(sale, rid, user)
    get_redis().xautoclaim(sale_keys(sale.pk).stream, CONSUMER_GROUP, "me", 0, "0-0")  # "someone" died
    reservations_drain(sale_id=sale.pk, consumer="me")
    assert Order.objects.filter(reservation_id=rid).exists()
    assert_invariants(sale, accepted_units=1)


def test_a_persisted_reservation_reads_created_to_the_abandon():
    sale, user = live_sale(quantity=5), UserFactory()
    rid = _bought(sale, user)
    reservations_drain(sale_id=sale.pk)
    assert _abandon(sale, rid, user) == "created"


def test_a_split_sale_s_reservation_is_abandoned_in_its_own_bucket():
    sale = live_sale(quantity=40, stock_buckets=4)  # 10 units in each bucket
    user = next(u for u in (UserFactory() for _ in range(20)) if home_bucket(u.pk, 4) != 0)
    _abandon(sale, _bought(sale, user), user)
    assert bucket_stocks([sale.pk])[sale.pk] == [10, 10, 10, 10]
