"""Prometheus metrics at ``/metrics``, read from the shared state at scrape time.

Nothing is counted in this process: the Lua scripts count purchases, tokens and settled orders
per sale in ``fs:{sale}:stats`` in the same round trip that does the work, and the persister adds
each batch to one Redis hash (``record_persist_batch``). Every scrape builds a fresh registry whose
collector reads those numbers, so any gunicorn process reports the same totals for the whole
fleet (in-process prometheus_client counters would each hold a fraction, and reset on restart).
"""
from __future__ import annotations

import hmac
import logging
import math

import redis
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from config.errors import error_body
from inventory.keys import sale_keys
from inventory.redis_client import get_redis

logger = logging.getLogger(__name__)
PERSIST_KEY = "metrics:persist"  # one global hash: bucket counters and sums of both histograms
SIZE_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
PURCHASE_CODES = ("OK", "SOLD_OUT", "LIMIT", "BAD_TOKEN", "NOT_LIVE", "MISMATCH", "INVALID", "RATE_LIMITED")
MAX_SALES = 200


# --- writing: one persisted batch --------------------------------------------------------

def _bucket(value: float, bounds: tuple) -> str:
    # Each observation lands in one (non-cumulative) bucket: one HINCRBY; the scrape accumulates.
    return floatToGoString(next((b for b in bounds if value <= b), math.inf))


def record_persist_batch(*, entries: int, seconds: float) -> None:
    """Add one persisted batch to the shared histograms: one round trip, and it never raises
    (a lost observation must not fail a batch that is already committed and settled)."""
    pipe = get_redis().pipeline(transaction=True)  # MULTI: buckets and sums move together
    pipe.hincrby(PERSIST_KEY, f"size:le:{_bucket(entries, SIZE_BUCKETS)}", 1)
    pipe.hincrbyfloat(PERSIST_KEY, "size:sum", entries)
    pipe.hincrby(PERSIST_KEY, f"seconds:le:{_bucket(seconds, SECONDS_BUCKETS)}", 1)
    pipe.hincrbyfloat(PERSIST_KEY, "seconds:sum", seconds)
    try:
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("could not record a persist batch metric: %r", exc)


# --- reading: the state behind one scrape ---------------------------------------------------

def _sale_ids() -> list[int]:
    from flashsale.models import FlashSale  # lazy: this module is imported before apps are ready

    # A replica read (through the router) is fine here: a new sale shows up a moment later.
    preheated = FlashSale.objects.exclude(state=FlashSale.State.DRAFT).order_by("-id")
    return list(preheated.values_list("id", flat=True)[:MAX_SALES])


def _latest_drift(sale_ids: list[int]) -> dict[int, int]:
    """The drift of each sale's latest reconciliation run ({} until the app is installed)."""
    if not sale_ids or not apps.is_installed("reconciliation"):
        return {}
    from flashsale.models import FlashSale
    from reconciliation.models import ReconciliationRun

    latest = ReconciliationRun.objects.filter(sale=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = (FlashSale.objects.filter(pk__in=sale_ids)
            .annotate(last_drift=Subquery(latest.values("drift")[:1])).values_list("pk", "last_drift"))
    try:
        return {pk: drift for pk, drift in rows if drift is not None}
    except DatabaseError as exc:  # e.g. its migration not applied yet: the other metrics still count
        logger.warning("metrics: reconciliation runs unreadable: %r", exc)
        return {}


def _read_redis(sale_ids: list[int]) -> tuple[dict[int, tuple], dict]:
    # One round trip for everything; a pipeline, not MGET: each sale's keys sit in their own slot.
    pipe = get_redis().pipeline(transaction=False)
    for sale_id in sale_ids:
        keys = sale_keys(sale_id)
        pipe.hgetall(keys.stats)
        pipe.hget(keys.meta, "inflight")
        pipe.get(keys.stock)
    pipe.hgetall(PERSIST_KEY)
    values = pipe.execute()
    per_sale = {sale_id: tuple(values[3 * i:3 * i + 3]) for i, sale_id in enumerate(sale_ids)}
    return per_sale, values[-1]


# --- building the families ---------------------------------------------------------------

def _sale_families(per_sale: dict[int, tuple], drift: dict[int, int]) -> list:
    purchases = CounterMetricFamily("flashsale_purchases", "Purchase attempts answered, by outcome.",
                                    labels=["sale", "outcome"])
    issued = CounterMetricFamily("flashsale_tokens_issued", "Purchase tokens issued.", labels=["sale"])
    used = CounterMetricFamily("flashsale_tokens_used", "Purchase tokens spent by an attempt.", labels=["sale"])
    persisted = CounterMetricFamily("flashsale_orders_persisted", "Reservations written to the DB, by outcome.",
                                    labels=["sale", "outcome"])
    inflight = GaugeMetricFamily("flashsale_reservations_in_flight", "Units reserved, not yet persisted.",
                                 labels=["sale"])
    stock = GaugeMetricFamily("flashsale_stock_remaining", "Units left to sell in Redis.", labels=["sale"])
    drift_units = GaugeMetricFamily("flashsale_drift_units", "Drift found by the latest reconciliation run.",
                                    labels=["sale"])
    for sale_id, (stats, meta_inflight, stock_left) in per_sale.items():
        sale = str(sale_id)
        for code in PURCHASE_CODES:
            purchases.add_metric([sale, code.lower()], float(stats.get(f"purchase:{code}", 0)))
        issued.add_metric([sale], float(stats.get("tokens_issued", 0)))
        used.add_metric([sale], float(stats.get("tokens_used", 0)))
        for outcome in ("created", "failed"):
            persisted.add_metric([sale, outcome], float(stats.get(f"orders_{outcome}", 0)))
        if meta_inflight is not None:
            inflight.add_metric([sale], float(meta_inflight))
        if stock_left is not None:
            stock.add_metric([sale], float(stock_left))
        if sale_id in drift:
            drift_units.add_metric([sale], float(drift[sale_id]))
    families = [purchases, issued, used, persisted, inflight, stock]
    return families + ([drift_units] if apps.is_installed("reconciliation") else [])


def _histogram(name: str, doc: str, fields: dict, prefix: str, bounds: tuple) -> HistogramMetricFamily:
    counts = {float(b): 0 for b in bounds} | {math.inf: 0}
    for field, value in fields.items():
        head, _, bound = field.partition(":le:")
        if head == prefix and bound:
            try:  # bounds from an older deploy are kept as buckets of their own
                counts[float(bound)] = counts.get(float(bound), 0) + int(value)
            except ValueError:
                continue
    buckets, running = [], 0
    for bound in sorted(counts):
        running += counts[bound]
        buckets.append((floatToGoString(bound), running))
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=float(fields.get(f"{prefix}:sum", 0)))


class FlashSaleCollector(Collector):
    """Reads the DB (which sales) and Redis (their numbers) once per scrape."""

    def collect(self):
        up = GaugeMetricFamily("flashsale_metrics_source_up", "1 if this scrape could read the source.",
                               labels=["source"])
        try:
            sale_ids = _sale_ids()
            drift = _latest_drift(sale_ids)
            up.add_metric(["db"], 1)
        except DatabaseError as exc:
            logger.warning("metrics: database unreadable: %r", exc)
            sale_ids, drift = [], {}
            up.add_metric(["db"], 0)
        try:
            per_sale, persist = _read_redis(sale_ids)
            up.add_metric(["redis"], 1)
        except redis.RedisError as exc:
            logger.warning("metrics: redis unreadable: %r", exc)
            up.add_metric(["redis"], 0)
            yield up
            return
        yield up
        yield from _sale_families(per_sale, drift)
        yield _histogram("flashsale_persist_batch_size", "Entries per persisted batch.", persist, "size", SIZE_BUCKETS)
        yield _histogram("flashsale_persist_batch_seconds", "DB write + settle time per persisted batch.",
                         persist, "seconds", SECONDS_BUCKETS)


def _authorized(request) -> bool:
    expected = getattr(settings, "METRICS_TOKEN", "")
    if not expected:
        return True
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@require_safe
def metrics(request):
    if not _authorized(request):
        return JsonResponse(error_body("not_authenticated", "A valid metrics bearer token is required."),
                            status=401, headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlashSaleCollector())
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type, headers={"Cache-Control": "no-store"})
