"""The per-sale metrics: purchases, tokens and settled orders (counted by the scripts), units in
flight and left, and the drift of the latest reconciliation run. Read once per scrape. A sale split
over buckets is reported in sum, and each bucket's stock on its own."""

from __future__ import annotations

import logging

import redis
from django.db import DatabaseError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from flashsale.models import FlashSale
from inventory.dead_letters import dead_letter_counts
from inventory.redis_schema import StatsField
from inventory.selectors import bucket_stocks, sale_counters
from reconciliation.selectors import latest_drift

logger = logging.getLogger(__name__)
PURCHASE_CODES = ("OK", "SOLD_OUT", "LIMIT", "BAD_TOKEN", "NOT_LIVE", "MISMATCH", "INVALID", "RATE_LIMITED")
MAX_SALES = 200


def _sale_ids() -> list[int]:
    # A replica read (through the router) is fine here: a new sale shows up a moment later.
    return list(FlashSale.objects.visible().order_by("-id").values_list("id", flat=True)[:MAX_SALES])


def _bucket_family(per_bucket: dict[int, list[int | None]]) -> GaugeMetricFamily:
    """Each bucket's stock, for sales split over more than one (a one-bucket sale's is its stock)."""
    family = GaugeMetricFamily(
        "flashsale_bucket_stock_remaining", "Units left in one bucket of a split sale.", labels=["sale", "bucket"]
    )
    for sale_id, stocks in per_bucket.items():
        for bucket, units in enumerate(stocks if len(stocks) > 1 else []):
            if units is not None:
                family.add_metric([str(sale_id), str(bucket)], float(units))
    return family


def _families(per_sale: dict[int, tuple[dict, int | None, int | None]], drift: dict[int, int]) -> list:
    purchases = CounterMetricFamily(
        "flashsale_purchases", "Purchase attempts answered, by outcome.", labels=["sale", "outcome"]
    )
    issued = CounterMetricFamily("flashsale_tokens_issued", "Purchase tokens issued.", labels=["sale"])
    used = CounterMetricFamily("flashsale_tokens_used", "Purchase tokens spent by an attempt.", labels=["sale"])
    persisted = CounterMetricFamily(
        "flashsale_orders_persisted", "Reservations written to the DB, by outcome.", labels=["sale", "outcome"]
    )
    inflight = GaugeMetricFamily(
        "flashsale_reservations_in_flight", "Units reserved, not yet persisted.", labels=["sale"]
    )
    stock = GaugeMetricFamily("flashsale_stock_remaining", "Units left to sell in Redis.", labels=["sale"])
    drift_units = GaugeMetricFamily(
        "flashsale_drift_units", "Drift found by the latest reconciliation run.", labels=["sale"]
    )
    for sale_id, (stats, units_inflight, units_left) in per_sale.items():
        sale = str(sale_id)
        for code in PURCHASE_CODES:
            purchases.add_metric([sale, code.lower()], float(stats.get(StatsField.purchases(code), 0)))
        issued.add_metric([sale], float(stats.get(StatsField.TOKENS_ISSUED, 0)))
        used.add_metric([sale], float(stats.get(StatsField.TOKENS_USED, 0)))
        for outcome in ("created", "failed"):
            persisted.add_metric([sale, outcome], float(stats.get(StatsField.orders(outcome), 0)))
        if units_inflight is not None:
            inflight.add_metric([sale], float(units_inflight))
        if units_left is not None:
            stock.add_metric([sale], float(units_left))
        if sale_id in drift:
            drift_units.add_metric([sale], float(drift[sale_id]))
    return [purchases, issued, used, persisted, inflight, stock, drift_units]


class SaleCollector(Collector):
    """Reads the DB (which sales, their latest drift) and Redis (their numbers) once per scrape."""

    def collect(self):
        up = GaugeMetricFamily(
            "flashsale_metrics_source_up", "1 if this scrape could read the source.", labels=["source"]
        )
        try:
            sale_ids = _sale_ids()
            up.add_metric(["db"], 1)
        except DatabaseError as exc:
            logger.warning("metrics: database unreadable: %r", exc)
            sale_ids = []
            up.add_metric(["db"], 0)
        try:
            drift = latest_drift(sale_ids)
        except DatabaseError as exc:  # e.g. its migration not applied yet: the other metrics still count
            logger.warning("metrics: reconciliation runs unreadable: %r", exc)
            drift = {}
        try:
            per_sale = sale_counters(sale_ids)
            per_bucket = bucket_stocks(sale_ids) if sale_ids else {}
            up.add_metric(["redis"], 1)
        except redis.RedisError as exc:
            logger.warning("metrics: redis unreadable: %r", exc)
            up.add_metric(["redis"], 0)
            yield up
            return
        try:
            dead = dead_letter_counts(sale_ids)
        except redis.RedisError as exc:
            logger.warning("metrics: dead letters unreadable: %r", exc)
            dead = {}
        yield up
        yield from _families(per_sale, drift)
        yield _bucket_family(per_bucket)
        yield _dead_letters_family(dead)


def _dead_letters_family(dead: dict[int, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "flashsale_dead_letters", "Stream entries parked for an operator (admin: dead letters).", labels=["sale"]
    )
    for sale_id, count in dead.items():
        family.add_metric([str(sale_id)], float(count))
    return family
