"""Persistence throughput: the batched stream persister against one Celery task per order.

Batched: a sale's stream is pre-filled with accepted purchases by the real purchase Lua script,
then the real task (``orders.persist_reservations``, one per worker process, as the purchase
kicks and the beat sweep start it) drains it into MariaDB. Timed from the first publish until the
stream is empty and nothing is in flight (every entry committed and settled).

One per order: the same orders published as one ``bench.persist_one_order`` task each to a queue
no worker consumes yet; a worker for that queue then starts, and we time from its "ready" until
the last order is committed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from bench import checks, seed
from bench.procs import start_worker
from inventory.redis_schema import reservation_id_new
from orders.models import Order


@dataclass
class PersistResult:
    batched_orders: int
    batched_seconds: float
    prefill_seconds: float
    one_orders: int
    one_seconds: float
    one_publish_seconds: float
    checks: list[checks.SaleCheck]

    @property
    def batched_rate(self) -> float:
        return self.batched_orders / self.batched_seconds

    @property
    def one_rate(self) -> float:
        return self.one_orders / self.one_seconds if self.one_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.batched_rate / self.one_rate if self.one_rate else 0.0


def measure_batched(
    shoppers: list[seed.Shopper], n: int, *, tasks: int, log=print
) -> tuple[float, float, checks.SaleCheck]:
    from orders.tasks import reservations_drain_task

    sale = seed.create_sale(title="persist batched", stock=n, limit=math.ceil(n / len(shoppers)))
    accepted, prefill_s = seed.prefill_stream(sale, shoppers, n)
    if accepted != n:
        raise RuntimeError(f"pre-fill accepted {accepted} of {n}")
    log(f"    pre-filled {n} reservations through purchase.lua in {prefill_s:.1f}s")
    t0 = time.monotonic()
    for _ in range(tasks):
        reservations_drain_task.delay(sale.pk)
    while True:
        xlen, inflight = checks.stream_state(sale.pk)
        if xlen == 0 and inflight == 0:
            break
        if time.monotonic() - t0 > 300:
            raise RuntimeError(f"persister did not drain {n} entries in 300s ({xlen} left)")
        time.sleep(0.01)
    seconds = time.monotonic() - t0
    return seconds, prefill_s, checks.check_sale(sale, "persist batched")


def measure_one_per_order(
    shoppers: list[seed.Shopper], n: int, *, workdir: Path, env: dict[str, str], queue: str, concurrency: int
) -> tuple[float, float, checks.SaleCheck]:
    from bench.tasks import persist_one_order
    from config.celery_app import app

    sale = seed.create_sale(title="persist one per order", stock=n, limit=math.ceil(n / len(shoppers)), preheat=False)
    now_ms = int(timezone.now().timestamp() * 1000)
    t = time.monotonic()
    with app.producer_or_acquire() as producer:
        for i in range(n):
            persist_one_order.apply_async(
                args=[sale.pk, shoppers[i % len(shoppers)].user_id, reservation_id_new(sale.pk), 1, now_ms],
                queue=queue,
                producer=producer,
            )
    publish_s = time.monotonic() - t
    worker = start_worker(workdir, env, queue=queue, concurrency=concurrency, name="one")
    t0 = time.monotonic()
    try:
        orders = Order.objects.using("default").filter(sale_id=sale.pk)
        while orders.count() < n:
            if time.monotonic() - t0 > 600:
                raise RuntimeError(f"one-task-per-order did not finish {n} orders in 600s")
            time.sleep(0.05)
        seconds = time.monotonic() - t0
    finally:
        worker.stop()
    return seconds, publish_s, checks.check_sale(sale, "persist one per order", accepted=n, redis_backed=False)
