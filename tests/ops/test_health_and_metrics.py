"""/healthz, /readyz and /metrics against the real services: MariaDB primary+replica, Redis, broker."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from django.apps import apps
from prometheus_client.parser import text_string_to_metric_families

from config import health
from config.redis import get_redis, reset_redis
from devstack import free_port
from flashsale import queue
from inventory.redis_schema import sale_keys
from orders.services import reservations_drain
from tests.factories import SaleFactory, UserFactory, live_sale
from tests.helpers import buy, client_for, real_db
from tests.support.queue import line_with_one_lapse, queue_sale

pytestmark = real_db


def eventually_ready(client, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


SCRAPE_TOKEN = "scrape-secret"


@pytest.fixture(autouse=True)
def _fresh_probe(settings):
    """Each test reads the services afresh: no answer kept from the last test, no cache inside it."""
    settings.READYZ_CACHE_SECONDS = 0
    health.reset_connections()
    yield
    health.reset_connections()


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = SCRAPE_TOKEN  # DEBUG is off here: /metrics needs a token


def scrape(client, **headers) -> dict:
    """{(sample name, frozenset of labels): value}, parsed as Prometheus parses it."""
    headers = headers or {"HTTP_AUTHORIZATION": f"Bearer {SCRAPE_TOKEN}"}
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_healthz_answers_ok_without_a_database_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_every_service_answers(client):
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 2
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "degraded": [],
        "checks": {"primary": "ok", "replica": "ok", "redis": "ok", "redis_replicas": "ok", "broker": "ok"},
    }


def test_readyz_names_redis_while_it_is_down_and_recovers_when_it_is_back(client, stack):
    try:
        stack.redis.stop()
        reset_redis()
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "not_ready"
        assert "failing: redis" in body["message"]
        assert body["checks"]["redis"] != "ok"
        assert body["checks"]["primary"] == "ok"
        assert client.get("/healthz").status_code == 200  # liveness does not depend on Redis
    finally:
        stack.redis.start()
        reset_redis()
    assert eventually_ready(client).status_code == 200


def test_readyz_answers_within_two_seconds_when_redis_hangs(client, stack):
    pid = stack.redis.pid
    try:
        os.kill(pid, signal.SIGSTOP)  # connections hang instead of failing
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    reset_redis()
    assert elapsed < 2, f"the probe took {elapsed:.2f}s"
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "timeout"
    assert eventually_ready(client).status_code == 200


def test_readyz_stays_ready_but_degraded_while_the_replicas_sql_thread_is_stopped(client, stack):
    stack.mariadb.wait_for_replica()
    try:
        stack.mariadb.stop_replica_sql_thread()
        response = client.get("/readyz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["degraded"] == ["replica"]
        assert body["checks"]["replica"] == "sql thread not running"
    finally:
        stack.mariadb.start_replica_sql_thread()
        stack.mariadb.wait_for_replica()
    assert client.get("/readyz").status_code == 200


def test_readyz_says_degraded_when_the_replica_lags_beyond_the_threshold(client, stack, settings):
    settings.READYZ_MAX_REPLICA_LAG = 1
    stack.mariadb.wait_for_replica()
    stack.mariadb.set_replica_delay(5)  # each event applied 5 s late: Seconds_Behind_Master climbs
    try:
        UserFactory()  # something to replicate
        deadline, response = time.monotonic() + 4.5, None
        while time.monotonic() < deadline:
            response = client.get("/readyz")
            if response.json()["status"] != "ready":
                break
            time.sleep(0.1)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["replica"].startswith("lag ")
    finally:
        stack.mariadb.set_replica_delay(0)
        stack.mariadb.wait_for_replica()
    assert eventually_ready(client).status_code == 200


def test_readyz_stays_ready_but_degraded_while_the_primary_hangs(client, stack):
    try:
        stack.mariadb.pause_primary()  # SIGSTOP: its connections hang
        response = client.get("/readyz")
    finally:
        stack.mariadb.resume_primary()
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["primary"]


def test_readyz_stays_ready_but_degraded_while_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # nobody listens there
    health.reset_connections()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["degraded"] == ["broker"]


def _connections_opened(stack) -> tuple[int, int]:
    """(connections the primary accepted, connections Redis accepted), since each started."""
    with stack.mariadb.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
        primary = int(cursor.fetchone()[1])
    return primary, int(redis.Redis.from_url(stack.redis.url).info("stats")["total_connections_received"])


def test_readyz_opens_no_new_connection_per_call(client, stack):
    assert client.get("/readyz").status_code == 200  # the first call opens what it keeps
    before = _connections_opened(stack)
    for _ in range(5):
        assert client.get("/readyz").json()["status"] == "ready"
    after = _connections_opened(stack)
    # Each reading itself costs one connection to each server; the five probes cost none.
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == 1


def test_readyz_answers_from_a_result_at_most_a_second_old(client, settings, monkeypatch):
    settings.READYZ_CACHE_SECONDS = 60  # asked for more: capped at one second
    runs = []
    real = health.CHECKS["primary"]
    monkeypatch.setitem(health.CHECKS, "primary", lambda: (runs.append(time.monotonic()), real())[1])
    first = client.get("/readyz").json()
    assert client.get("/readyz").json() == first
    assert len(runs) == 1  # the second probe reused the first one's answer
    while time.monotonic() - runs[0] <= 1.0:
        time.sleep(0.05)
    client.get("/readyz")
    assert len(runs) == 2


@pytest.mark.usefixtures("no_captcha", "no_rate_limits")
def test_metrics_count_purchases_tokens_and_persisted_batches(client, stack):
    sale = live_sale(quantity=1, limit=1)
    draft = SaleFactory()  # never preheated: not reported
    assert buy(client_for(UserFactory()), sale.pk).status_code == 202
    sold_out = buy(client_for(UserFactory()), sale.pk)
    assert sold_out.status_code == 409
    assert sold_out.json()["code"] == "sold_out"
    stack.mariadb.wait_for_replica()  # /metrics reads the list of sales on the replica

    samples = scrape(client)
    s = str(sale.pk)
    assert value(samples, "flashsale_purchases_total", sale=s, outcome="ok") == 1.0
    assert value(samples, "flashsale_purchases_total", sale=s, outcome="sold_out") == 1.0
    assert value(samples, "flashsale_purchases_total", sale=s, outcome="limit") == 0.0
    assert value(samples, "flashsale_tokens_issued_total", sale=s) == 2.0
    assert value(samples, "flashsale_tokens_used_total", sale=s) == 2.0
    assert value(samples, "flashsale_reservations_in_flight", sale=s) == 1.0
    assert value(samples, "flashsale_stock_remaining", sale=s) == 0.0
    assert value(samples, "flashsale_orders_persisted_total", sale=s, outcome="created") == 0.0
    assert value(samples, "flashsale_persist_batch_size_count") == 0.0
    assert not any(dict(labels).get("sale") == str(draft.pk) for _name, labels in samples)

    reservations_drain(sale_id=sale.pk)

    samples = scrape(client)
    assert value(samples, "flashsale_orders_persisted_total", sale=s, outcome="created") == 1.0
    assert value(samples, "flashsale_orders_persisted_total", sale=s, outcome="failed") == 0.0
    assert value(samples, "flashsale_reservations_in_flight", sale=s) == 0.0
    assert value(samples, "flashsale_persist_batch_size_count") == 1.0
    assert value(samples, "flashsale_persist_batch_size_sum") == 1.0
    assert value(samples, "flashsale_persist_batch_size_bucket", le="1.0") == 1.0
    assert value(samples, "flashsale_persist_batch_seconds_count") == 1.0
    assert value(samples, "flashsale_persist_batch_seconds_bucket", le="+Inf") == 1.0
    assert value(samples, "flashsale_metrics_source_up", source="redis") == 1.0


def test_metrics_report_the_latest_reconciliation_drift(client, stack):
    if not apps.is_installed("reconciliation"):
        pytest.skip("the reconciliation app is not installed yet")
    from reconciliation.models import ReconciliationRun

    sale = live_sale(quantity=5)
    ReconciliationRun.objects.create(sale=sale, drift=4, action="repaired")
    ReconciliationRun.objects.create(sale=sale, drift=0, action="none")
    stack.mariadb.wait_for_replica()
    assert value(scrape(client), "flashsale_drift_units", sale=str(sale.pk)) == 0.0


def test_metrics_require_the_bearer_token_when_one_is_configured(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    samples = scrape(client, HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")
    assert value(samples, "flashsale_metrics_source_up", source="db") == 1.0


def test_metrics_refuse_without_a_configured_token_when_debug_is_off(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 401


def test_metrics_are_open_without_a_token_in_debug(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = True
    assert client.get("/metrics").status_code == 200


def test_metrics_report_each_waiting_room_length_admissions_and_lapses(client, stack):
    sale = queue_sale(rate=1, admission=10)
    line_with_one_lapse(sale.pk)  # 1 admitted and lapsed, 2 admitted in its stead, 3 and 4 waiting
    stack.mariadb.wait_for_replica()  # /metrics reads the list of sales on the replica
    samples, s = scrape(client), str(sale.pk)
    assert value(samples, "flashsale_queue_waiting", sale=s) == 2.0
    assert value(samples, "flashsale_queue_admitted_now", sale=s) == 1.0
    assert value(samples, "flashsale_queue_admitted_total", sale=s) == 2.0
    assert value(samples, "flashsale_queue_lapsed_total", sale=s) == 1.0
    assert value(samples, "flashsale_queue_paused", sale=s) == 0.0


def test_metrics_histogram_the_wait_from_joining_to_admission(client, stack):
    sale = queue_sale(rate=1, admission=10)
    line_with_one_lapse(sale.pk)  # two admissions, each recorded with its wait
    stack.mariadb.wait_for_replica()
    samples, s = scrape(client), str(sale.pk)
    assert value(samples, "flashsale_queue_wait_seconds_count", sale=s) == 2.0
    assert value(samples, "flashsale_queue_wait_seconds_bucket", sale=s, le="+Inf") == 2.0
    assert value(samples, "flashsale_queue_wait_seconds_bucket", sale=s, le="3600.0") == 2.0  # cumulative
    assert value(samples, "flashsale_queue_wait_seconds_sum", sale=s) >= 0.0


def test_metrics_count_the_joins_told_the_line_is_closed(client, stack):
    sale = queue_sale(rate=1)
    get_redis().hset(sale_keys(sale.pk).meta, "ends", 1)  # the sale ended, as far as Redis knows
    assert queue.queue_join(sale_id=sale.pk, user_id=1).state == "closed"
    stack.mariadb.wait_for_replica()
    assert value(scrape(client), "flashsale_queue_closed_total", sale=str(sale.pk)) == 1.0


def test_metrics_leave_out_sales_without_a_waiting_room(client, stack):
    sale = live_sale(quantity=5)
    stack.mariadb.wait_for_replica()
    assert value(scrape(client), "flashsale_queue_waiting", sale=str(sale.pk)) is None
