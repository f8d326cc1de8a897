"""One hot sale on one bucket against the same sale split over N buckets, on one app server.

Each run is the purchase run of bench/endpoints.py (one pre-issued token per request, limit 1,
stock = requests, so the sale sells out exactly at the end), on a fresh sale; the runs alternate
1 bucket and N buckets so that the shared machine's noise falls on both alike, and the median of
each is reported. On one redis-server the buckets buy no capacity (one core runs every script):
this measures what the split costs, including the transfers when the home buckets run dry near
the end. On a Redis Cluster each bucket can sit on its own master.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import checks, seed
from bench.endpoints import Plan, _fmt, _purchase
from bench.load import LoadResult, run_wrk
from bench.procs import ServerSpec, start_server
from config.redis import get_redis
from inventory.redis_schema import sale_keys


@dataclass
class BucketRuns:
    buckets: int
    results: dict[int, list[LoadResult]] = field(default_factory=dict)
    checks: list[checks.SaleCheck] = field(default_factory=list)
    transfers: int = 0  # sales' transfers in the N-bucket runs (the home bucket ran short)

    def median(self, n: int) -> LoadResult:
        runs = sorted(self.results[n], key=lambda r: r.rps)
        return runs[len(runs) // 2]


def _transfers(sale_id: int, buckets: int) -> int:
    """Transfers each home bucket was credited with (their guard hash keeps one entry each)."""
    return sum(get_redis().hlen(sale_keys(sale_id, b).transfers_in) for b in range(buckets))


def measure_buckets(
    spec: ServerSpec, *, env: dict, shoppers: list, plan: Plan, workdir, buckets: int, log=print
) -> BucketRuns:
    out = BucketRuns(buckets, {1: [], buckets: []})
    server, base = start_server(spec, workdir, env)
    try:
        run_wrk("warm-ping", base, "ping.lua", threads=plan.threads, connections=plan.connections, duration=1)
        for attempt in range(plan.repeats):
            for n in (1, buckets):
                sale = seed.create_sale(
                    title=f"hot sale, {n} bucket(s) #{attempt + 1}", stock=plan.purchases, limit=1, buckets=n
                )
                res = _purchase(f"buckets-{n}", base, sale, shoppers[: plan.purchases], plan, workdir, quota_limit=60)
                log(f"    {n:>2} bucket(s)  {_fmt(res)}")
                out.results[n].append(res)
                if n > 1:
                    out.transfers += _transfers(sale.pk, n)
                out.checks.append(
                    checks.check_sale(sale, f"{n} bucket(s) #{attempt + 1}", client_accepted=res.statuses.get("202", 0))
                )
    finally:
        server.stop()
    return out


def report(runs: BucketRuns, *, log=print) -> None:
    one, many = runs.median(1), runs.median(runs.buckets)
    log(
        f"  one hot sale, 1 bucket: {one.rps:.0f} req/s p99 {one.p99:.1f} ms; {runs.buckets} buckets: "
        f"{many.rps:.0f} req/s p99 {many.p99:.1f} ms ({many.rps / one.rps - 1:+.0%}); "
        f"{runs.transfers} transfer(s) in the {runs.buckets}-bucket runs"
    )
