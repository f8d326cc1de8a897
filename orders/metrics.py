"""The persister's metrics: batch sizes and times, kept as histograms in one Redis hash."""

from __future__ import annotations

import logging

import redis
from prometheus_client.registry import Collector

from config.metrics import bucket_label, histogram_from_hash
from config.redis import get_redis

logger = logging.getLogger(__name__)
PERSIST_KEY = "metrics:persist"  # one global hash: bucket counters and sums of both histograms
SIZE_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def persist_batch_record(*, entries: int, seconds: float) -> None:
    """Add one persisted batch to the shared histograms: one round trip, and it never raises
    (a lost observation must not fail a batch that is already committed and settled)."""
    pipe = get_redis().pipeline(transaction=True)  # MULTI: buckets and sums move together
    pipe.hincrby(PERSIST_KEY, f"size:le:{bucket_label(entries, SIZE_BUCKETS)}", 1)
    pipe.hincrbyfloat(PERSIST_KEY, "size:sum", entries)
    pipe.hincrby(PERSIST_KEY, f"seconds:le:{bucket_label(seconds, SECONDS_BUCKETS)}", 1)
    pipe.hincrbyfloat(PERSIST_KEY, "seconds:sum", seconds)
    try:
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("could not record a persist batch metric: %r", exc)


class PersistBatchCollector(Collector):
    def collect(self):
        try:
            fields = get_redis().hgetall(PERSIST_KEY)
        except redis.RedisError as exc:  # reported by flashsale_metrics_source_up{source="redis"}
            logger.warning("metrics: persist histograms unreadable: %r", exc)
            return
        yield histogram_from_hash(
            "flashsale_persist_batch_size", "Entries per persisted batch.", fields, "size", SIZE_BUCKETS
        )
        yield histogram_from_hash(
            "flashsale_persist_batch_seconds",
            "DB write + settle time per persisted batch.",
            fields,
            "seconds",
            SECONDS_BUCKETS,
        )
