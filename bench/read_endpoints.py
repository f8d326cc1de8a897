"""A polling shopper's reads, on the same server as the purchase, on a warm cache:

(f) order read: ``GET /api/orders/{number}/`` with each shopper's API token, cycling through
    shoppers who each have an order (token → user and the order come from the cache: no DB query);
(g) sale read: ``GET /api/sales/{id}/`` with no credential (the row from the cache, the units
    left from Redis).

Each row is read once first (a quota run: the cache is then warm for every row), then measured.
"""

from __future__ import annotations

from pathlib import Path

from bench import seed
from bench.load import LoadResult, run_wrk

READERS = 1000  # shoppers whose orders are read


def _measure(name: str, base: str, rows: list[tuple[str, str]], plan, workdir: Path) -> LoadResult:
    data = workdir / f"rows-{name}.txt"
    data.write_text("".join(f"{token} {path}\n" for token, path in rows))
    env = {"BENCH_DATA": str(data)}
    kwargs = {"threads": plan.threads, "connections": plan.connections}
    # Every row once (a quota run), so the measured run reads a warm cache only.
    warm_env = {**env, "BENCH_ONCE": "1"}
    run_wrk(f"warm-{name}", base, "get_rows.lua", duration=max(60, len(rows) / 20), env=warm_env, quota=True, **kwargs)
    return run_wrk(name, base, "get_rows.lua", duration=plan.duration, env=env, count_statuses={"200"}, **kwargs)


def measure_order_read(base: str, shoppers: list[seed.Shopper], plan, workdir: Path, *, label: str) -> LoadResult:
    sale = seed.create_sale(title=f"order read {label}", stock=len(shoppers), limit=1)
    orders = seed.create_orders(sale, shoppers)
    rows = [(s.api_token, f"/api/orders/{number}/") for s, number in zip(shoppers, orders)]
    return _measure("order-read", base, rows, plan, workdir)


def measure_sale_read(base: str, plan, workdir: Path, *, label: str) -> LoadResult:
    sale = seed.create_sale(title=f"sale read {label}", stock=1000, limit=1)
    # One row per wrk thread (each thread reads its own share of the lines).
    return _measure("sale-read", base, [("-", f"/api/sales/{sale.pk}/")] * 64, plan, workdir)
