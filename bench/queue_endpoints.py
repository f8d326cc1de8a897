"""The waiting room's two endpoints, measured on the same server as the purchase.

(d) join: ``POST /api/sales/{id}/queue`` with each shopper's API token, one shopper per request
    (a join is idempotent, so only a first join counts, as only a first purchase does), on a sale
    whose line is open; every shopper gets a place.
(e) poll: ``GET /api/sales/{id}/queue`` with an ``X-Queue-Ticket`` header and no other credential,
    cycling through the tickets of shoppers who joined through the service beforehand, while the
    line admits at the sale's rate (so the ones near the front are answered from Redis, the ones
    far back from the process's recent view of the line).
"""

from __future__ import annotations

from pathlib import Path

from bench import seed
from bench.load import LoadResult, run_wrk

POLL_LINE = 5000  # shoppers in the polled line (quick: fewer); the front of it is admitted at the rate
ADMIT_PER_SECOND = 50  # the model's default


def _queue_path(sale_id: int) -> str:
    return f"/api/sales/{sale_id}/queue"


def measure_join(base: str, shoppers: list[seed.Shopper], plan, workdir: Path, *, label: str) -> LoadResult:
    sale = seed.create_sale(title=f"queue join {label}", stock=len(shoppers), limit=1, queue=True)
    data = seed.write_users_file(workdir / f"users-join-{sale.pk}.txt", shoppers)
    result = run_wrk(
        "queue-join",
        base,
        "queue_join.lua",
        threads=plan.threads,
        connections=plan.connections,
        duration=max(60, len(shoppers) / 20),
        env={"BENCH_DATA": str(data), "BENCH_PATH": _queue_path(sale.pk)},
        quota=True,
        count_statuses=None,
    )
    result.requests -= result.statuses.get("404", 0)  # a finished thread's parting requests
    return result


def measure_poll(base: str, shoppers: list[seed.Shopper], plan, workdir: Path, *, label: str) -> LoadResult:
    sale = seed.create_sale(
        title=f"queue poll {label}", stock=len(shoppers), limit=1, queue=True, admit_per_second=ADMIT_PER_SECOND
    )
    tickets = seed.join_queue(sale.pk, shoppers, workdir / f"tickets-{sale.pk}.txt")
    env = {"BENCH_DATA": str(tickets), "BENCH_PATH": _queue_path(sale.pk)}
    run_wrk(
        "warm-poll",
        base,
        "queue_poll.lua",
        threads=plan.threads,
        connections=plan.connections,
        duration=plan.warmup,
        env=env,
    )
    return run_wrk(
        "queue-poll",
        base,
        "queue_poll.lua",
        threads=plan.threads,
        connections=plan.connections,
        duration=plan.duration,
        env=env,
        count_statuses={"200"},
    )
