"""The Redis Cluster path: one slot per script call, sales spread over the masters, the
broker refused, the harness's cluster itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from redis.crc import key_slot

from config.redis import CrossSlotKeys, get_redis, redis_masters
from flashsale.models import FlashSale
from inventory.redis_schema import home_bucket, sale_keys
from inventory.scripts import script
from tests.factories import UserFactory, live_sale, users
from tests.helpers import buy, client_for, real_db, redis_stock
from tests.support.cluster import master_of, tags_on_distinct_masters

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]


def _two_slot_keys() -> list[str]:
    first, other = sale_keys(1).meta, sale_keys(2).meta
    assert key_slot(first.encode()) != key_slot(other.encode())  # the premise: two slots
    return [first, other]


def test_a_script_called_with_keys_of_two_slots_is_refused_on_one_redis_too():
    keys = _two_slot_keys()
    get_redis().hset(keys[0], "state", "on")
    with pytest.raises(CrossSlotKeys):
        script("set_state")(keys=keys, args=["paused"])
    assert get_redis().hget(keys[0], "state") == "on"  # and nothing ran


def test_a_cross_slot_script_is_refused_in_a_pipeline_too():
    pipe = get_redis().pipeline(transaction=False)
    with pytest.raises(CrossSlotKeys):
        script("set_state")(keys=_two_slot_keys(), args=["paused"], client=pipe)


def test_on_the_cluster_a_cross_slot_script_is_refused_even_with_the_guard_off(redis_cluster, settings):
    settings.REDIS_SLOT_CHECK = False
    with pytest.raises((redis.exceptions.RedisClusterException, redis.ResponseError)):
        script("set_state")(keys=_two_slot_keys(), args=["paused"])


def test_the_purchase_script_is_never_queued_in_a_cluster_pipeline(redis_cluster):
    # A ClusterPipeline re-sends a timed-out node's commands one by one: a purchase could run twice.
    keys = sale_keys(1)
    with pytest.raises(ValueError, match="takes stock"):
        script("purchase")(keys=[keys.meta, keys.stock], args=[], client=get_redis().pipeline())


def _name(master: redis.Redis) -> str:
    return "{host}:{port}".format(**master.connection_pool.connection_kwargs)


def test_sales_whose_tags_hash_to_different_masters_sell_on_different_masters(redis_cluster):
    client = get_redis()
    # Sale ids chosen by where their tag lands: consecutive ids need not reach three masters.
    start = FlashSale.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picked = tags_on_distinct_masters(client, lambda i: sale_keys(i).stock, range(start + 1, start + 500))
    assert len(picked) == 3
    sales = {name: live_sale(quantity=5, pk=sale_id) for name, sale_id in picked.items()}
    for sale in sales.values():
        assert buy(client_for(UserFactory()), sale.pk).status_code == 202
    for name, sale in sales.items():
        owner = next(m for m in redis_masters() if _name(m) == name)
        assert owner.get(sale_keys(sale.pk).stock) == "4"  # the sale's stock lives on its own master
        assert master_of(client, sale_keys(sale.pk).stream) == name  # and so does its stream
        assert redis_stock(sale.pk) == 4


def test_every_key_of_a_sale_shares_its_slot():
    keys = sale_keys(7)
    named = [keys.meta, keys.stock, keys.bought, keys.stream, keys.holds, *keys.queue_all()]
    named += [keys.token(1), keys.idempotency(1, "k"), keys.reservation("7-" + "0" * 24), keys.rate_ip("1.2.3.4")]
    assert len({key_slot(k.encode()) for k in named}) == 1


def test_a_redis_broker_is_refused_at_start_when_redis_is_a_cluster():
    env = {**os.environ, "REDIS_CLUSTER": "true", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1"}
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.CELERY_BROKER_URL"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "REDIS_CLUSTER=true needs a RabbitMQ broker" in done.stderr


def test_the_test_cluster_has_three_masters_that_cover_every_slot(redis_cluster):
    assert len(redis_cluster.masters()) == 3
    assert all(node.cluster_info()["cluster_slots_ok"] == "16384" for node in redis_cluster.nodes)


def test_a_sale_preheated_on_the_cluster_is_not_on_the_single_redis(redis_cluster, stack):
    sale = live_sale(quantity=3)
    assert redis_stock(sale.pk) == 3
    assert redis.Redis.from_url(stack.redis.url).get(sale_keys(sale.pk).stock) is None


def test_on_the_cluster_a_split_sale_sells_from_every_master(redis_cluster):
    client = get_redis()
    # A sale id chosen so that its three buckets' tags land on the three masters (consecutive
    # tags need not).
    start = FlashSale.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    spread = next(
        i
        for i in range(start + 1, start + 2000)
        if len(tags_on_distinct_masters(client, lambda b, i=i: sale_keys(i, b).stock, range(3))) == 3
    )
    sale = live_sale(quantity=30, stock_buckets=3, pk=spread)
    people = users(60, prefix="masters")
    # One shopper at home in each bucket.
    buyers = [next(u for u in people if home_bucket(u.pk, 3) == b) for b in range(3)]
    assert [buy(client_for(u), sale.pk).status_code for u in buyers] == [202] * 3
    masters = {master_of(client, sale_keys(sale.pk, b).stream) for b in range(3)}
    assert len(masters) == 3
    assert [client.xlen(sale_keys(sale.pk, b).stream) for b in range(3)] == [1, 1, 1]
