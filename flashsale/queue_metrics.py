"""The waiting room's metrics, per sale with a line: its length, admissions now, whether admission
is held, the admitted, lapsed and closed counters, and the wait from joining to admission (a
histogram the scripts keep in the sale's stats hash). Read once per scrape."""

from __future__ import annotations

import logging

import redis
from django.db import DatabaseError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from config.metrics import hash_buckets
from flashsale.models import FlashSale
from flashsale.queue_selectors import queue_readings

logger = logging.getLogger(__name__)
WAIT_PREFIX = "qwait"  # lib/queue.lua's record_wait(): qwait:le:<bound> and qwait:sum
WAIT_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)  # seconds, as lib/queue.lua's WAIT_BUCKETS
MAX_SALES = 200


def _sale_ids() -> list[int]:
    # A replica read (through the router) is fine here: a new sale shows up a moment later.
    sales = FlashSale.objects.worth_sweeping().filter(queue_enabled=True).order_by("-id")
    return list(sales.values_list("id", flat=True)[:MAX_SALES])


def _families(readings: dict) -> list:
    waiting = GaugeMetricFamily(
        "flashsale_queue_waiting", "Shoppers in the waiting room, pre-queue included.", labels=["sale"]
    )
    admitted_now = GaugeMetricFamily(
        "flashsale_queue_admitted_now", "Shoppers admitted whose admission has not run out.", labels=["sale"]
    )
    paused = GaugeMetricFamily("flashsale_queue_paused", "1 while an operator holds admission.", labels=["sale"])
    admitted = CounterMetricFamily("flashsale_queue_admitted", "Shoppers admitted from the line.", labels=["sale"])
    lapsed = CounterMetricFamily("flashsale_queue_lapsed", "Admissions that ran out.", labels=["sale"])
    closed = CounterMetricFamily("flashsale_queue_closed", "Joins answered that the line is closed.", labels=["sale"])
    wait = HistogramMetricFamily(
        "flashsale_queue_wait_seconds", "Time from joining the line to admission.", labels=["sale"]
    )
    for sale_id, (reading, stats) in readings.items():
        if not reading.enabled:
            continue
        sale = [str(sale_id)]
        waiting.add_metric(sale, reading.in_line)
        admitted_now.add_metric(sale, reading.admitted_now)
        paused.add_metric(sale, 1 if reading.paused else 0)
        admitted.add_metric(sale, reading.admitted_total)
        lapsed.add_metric(sale, reading.lapsed_total)
        closed.add_metric(sale, reading.closed_total)
        buckets, total = hash_buckets(stats, WAIT_PREFIX, WAIT_BUCKETS)
        wait.add_metric(sale, buckets, total)
    return [waiting, admitted_now, paused, admitted, lapsed, closed, wait]


class QueueCollector(Collector):
    """Reads the DB (which sales have a line) and Redis (their numbers) once per scrape. A source
    that cannot be read leaves these families out; flashsale_metrics_source_up reports it."""

    def collect(self):
        try:
            readings = queue_readings(_sale_ids())
        except DatabaseError as exc:
            logger.warning("metrics: database unreadable for the waiting rooms: %r", exc)
            return
        except redis.RedisError as exc:
            logger.warning("metrics: waiting rooms unreadable: %r", exc)
            return
        yield from _families(readings)
