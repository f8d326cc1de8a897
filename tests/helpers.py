"""Small helpers shared by the tests: API calls and invariant checks against the real services."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from config.redis import get_redis
from inventory.models import Stock
from inventory.redis_schema import CONSUMER_GROUP, sale_keys
from orders.models import LIVE_STATUSES, Order

# Real transactions on the primary and reads on the real replica (flush skips the replica: it
# is a TEST MIRROR, and replication carries the primary's TRUNCATEs to it).
real_db = pytest.mark.django_db(transaction=True, databases="__all__")
# Run a test (or a module, in pytestmark) once on the single Redis and once on the Redis Cluster
# (the each_redis fixture, tests/conftest.py). A test that needs the cluster only asks for redis_cluster.
on_each_redis = pytest.mark.usefixtures("each_redis")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def token_for(client: APIClient, sale_id: int, **extra) -> str:
    response = client.post(f"/api/sales/{sale_id}/token", {}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def buy(client: APIClient, sale_id: int, quantity=1, token: str | None = None, idem: str | None = None, **extra):
    """POST a purchase (with a fresh token unless one is given); ``extra`` goes to the purchase request."""
    token = token if token is not None else token_for(client, sale_id)
    headers = {"HTTP_IDEMPOTENCY_KEY": idem} if idem else {}
    return client.post(
        f"/api/sales/{sale_id}/purchase", {"token": token, "quantity": quantity}, format="json", **headers, **extra
    )


def redis_stock(sale_id: int) -> int | None:
    value = get_redis().get(sale_keys(sale_id).stock)
    return int(value) if value is not None else None


def stream_len(sale_id: int) -> int:
    return get_redis().xlen(sale_keys(sale_id).stream)


def pending_count(sale_id: int) -> int:
    return get_redis().xpending(sale_keys(sale_id).stream, CONSUMER_GROUP)["pending"]


def assert_invariants(sale, *, accepted_units: int | None = None) -> dict:
    """The drained-state invariants: no oversell, Redis = DB, limits held, nothing left in flight."""
    orders = Order.objects.using("default").filter(sale=sale)
    live = orders.filter(status__in=LIVE_STATUSES)
    sold = live.aggregate(n=Sum("quantity"))["n"] or 0
    stock = Stock.objects.using("default").get(sku=sale.sku)
    assert sold <= sale.quantity, "oversold"
    assert stock.sold <= stock.total
    assert redis_stock(sale.pk) == sale.quantity - sold, "Redis and DB disagree"
    assert stream_len(sale.pk) == 0, "entries left in flight"
    assert pending_count(sale.pk) == 0, "entries left in flight"
    assert int(get_redis().hget(sale_keys(sale.pk).meta, "inflight")) == 0
    per_user = live.values("user_id").annotate(n=Sum("quantity"))
    assert all(row["n"] <= sale.per_user_limit for row in per_user), "a user went over the limit"
    assert orders.values("reservation_id").distinct().count() == orders.count()
    if accepted_units is not None:
        assert sold == accepted_units, f"accepted {accepted_units} units but {sold} are sold"
    return {"sold": sold, "orders": orders.count()}
