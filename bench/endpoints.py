"""The endpoints measured side by side on one app server: bare, purchase, naive, the waiting
room's join and poll (bench/queue_endpoints.py), and a polling shopper's cached reads
(bench/read_endpoints.py).

(a) purchase: ``POST /api/sales/{id}/purchase`` with a pre-issued one-time token per request
    (one shopper per request: the limit is 1 and a token works once), so only purchase answers
    are counted; auth, rate limits (raised or off), token check, the Lua script, 202.
(b) bare: ``GET /bench/ping``, a JSON view through the same middleware.
(c) naive: ``POST /bench/naive/{id}/purchase``, SELECT … FOR UPDATE on the stock row per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench import checks, queue_endpoints, read_endpoints, seed
from bench.load import LoadResult, run_wrk
from bench.procs import ServerSpec, start_server

NAIVE_STOCK = 10_000_000
NAIVE_USERS = 2000


@dataclass
class Plan:
    duration: float  # seconds of load for the fixed-duration endpoints
    purchases: int  # purchase requests of (a): one pre-issued token each
    threads: int
    connections: int
    warmup: float
    extra: bool = False  # also the DRF auth-only view (where the time goes)
    # False: no Celery worker runs during these runs (the reservations wait in the stream and are
    # persisted after), so the web tier has the two cores, as it has its own machines in production.
    persist_during_load: bool = False
    repeats: int = 1  # purchase runs per server (a fresh sale each); the median by req/s is reported
    poll_line: int = queue_endpoints.POLL_LINE  # shoppers in the line whose tickets the poll run sends


@dataclass
class ServerRun:
    spec: ServerSpec
    results: dict[str, LoadResult] = field(default_factory=dict)
    checks: list[checks.SaleCheck] = field(default_factory=list)
    drain_s: float = 0.0
    purchase_rps_all: list[float] = field(default_factory=list)
    worker_pids: list[int] = field(default_factory=list)

    def get(self, name: str) -> LoadResult | None:
        return self.results.get(name)


def _purchase(name, base, sale, shoppers, plan, workdir, *, quota_limit: float) -> LoadResult:
    data = seed.issue_purchase_tokens(sale.pk, shoppers, workdir / f"tokens-{name}-{sale.pk}.txt")
    env = {"BENCH_DATA": str(data), "BENCH_PATH": f"/api/sales/{sale.pk}/purchase"}
    # Every answer but the 200 of a finished thread's parting GET /healthz is a purchase answer.
    result = run_wrk(
        name,
        base,
        "purchase.lua",
        threads=plan.threads,
        connections=plan.connections,
        duration=quota_limit,
        env=env,
        quota=True,
        count_statuses=None,
    )
    result.requests -= result.statuses.get("200", 0)
    return result


def measure_server(
    spec: ServerSpec,
    *,
    env: dict[str, str],
    shoppers: list[seed.Shopper],
    plan: Plan,
    workdir: Path,
    log=print,
    on_running=None,
) -> ServerRun:
    run = ServerRun(spec)
    server, base = start_server(spec, workdir, env)
    try:
        run.worker_pids = _workers(server)
        users_file = seed.write_users_file(workdir / "users-naive.txt", shoppers[:NAIVE_USERS])
        # Warm-up: imports, DB and Redis connection pools, script load, in every worker.
        warm = seed.create_sale(title=f"warm-up {spec.label}", stock=len(shoppers), limit=1)
        run_wrk("warm-ping", base, "ping.lua", threads=plan.threads, connections=plan.connections, duration=plan.warmup)
        _purchase("warm-purchase", base, warm, shoppers[:2000], plan, workdir, quota_limit=max(5, plan.warmup * 3))
        if plan.persist_during_load:
            checks.drain(warm.pk)

        run.results["bare"] = run_wrk(
            "bare", base, "ping.lua", threads=plan.threads, connections=plan.connections, duration=plan.duration
        )
        log(f"    bare      {_fmt(run.results['bare'])}")

        tries = []
        for attempt in range(plan.repeats):
            sale = seed.create_sale(title=f"purchase {spec.label} #{attempt + 1}", stock=plan.purchases, limit=1)
            if on_running:
                on_running("purchase", server)
            res = _purchase(
                "purchase",
                base,
                sale,
                shoppers[: plan.purchases],
                plan,
                workdir,
                quota_limit=max(60, plan.purchases / 20),
            )
            log(f"    purchase  {_fmt(res)}" + (f"  (run {attempt + 1} of {plan.repeats})" if plan.repeats > 1 else ""))
            if plan.persist_during_load:
                run.drain_s = checks.drain(sale.pk)
            run.checks.append(
                checks.check_sale(
                    sale, f"purchase ({spec.label}) #{attempt + 1}", client_accepted=res.statuses.get("202", 0)
                )
            )
            tries.append(res)
        # Why the median of several: a few seconds of purchases swing by ±15 % on a shared 2-core box.
        run.results["purchase"] = sorted(tries, key=lambda r: r.rps)[len(tries) // 2]
        run.purchase_rps_all = [r.rps for r in tries]
        run.checks.append(checks.check_sale(warm, f"warm-up ({spec.label})"))

        joiners = shoppers[: plan.purchases]  # as many first joins as first purchases
        run.results["queue_join"] = queue_endpoints.measure_join(base, joiners, plan, workdir, label=spec.label)
        log(f"    queue join {_fmt(run.results['queue_join'])}")
        pollers = shoppers[: plan.poll_line]
        run.results["queue_poll"] = queue_endpoints.measure_poll(base, pollers, plan, workdir, label=spec.label)
        log(f"    queue poll {_fmt(run.results['queue_poll'])}")

        # Polling shoppers, few enough that the warm-up reads them all well inside their fresh period.
        readers = shoppers[: min(plan.poll_line, read_endpoints.READERS)]
        run.results["order_read"] = read_endpoints.measure_order_read(base, readers, plan, workdir, label=spec.label)
        log(f"    order read {_fmt(run.results['order_read'])}")
        run.results["sale_read"] = read_endpoints.measure_sale_read(base, plan, workdir, label=spec.label)
        log(f"    sale read  {_fmt(run.results['sale_read'])}")

        naive = seed.create_sale(title=f"naive {spec.label}", stock=NAIVE_STOCK, limit=NAIVE_STOCK, preheat=False)
        run.results["naive"] = run_wrk(
            "naive",
            base,
            "post_users.lua",
            threads=plan.threads,
            connections=plan.connections,
            duration=plan.duration,
            env={
                "BENCH_DATA": str(users_file),
                "BENCH_PATH": f"/bench/naive/{naive.pk}/purchase",
                "BENCH_BODY": '{"quantity":1}',
            },
            count_statuses={"202"},
        )
        log(f"    naive     {_fmt(run.results['naive'])}")
        run.checks.append(
            checks.check_sale(
                naive,
                f"naive ({spec.label})",
                redis_backed=False,
                client_accepted=run.results["naive"].statuses.get("202", 0),
            )
        )
        if plan.extra:
            run.results["auth"] = run_wrk(
                "auth",
                base,
                "post_users.lua",
                threads=plan.threads,
                connections=plan.connections,
                duration=plan.duration,
                env={"BENCH_DATA": str(users_file), "BENCH_PATH": "/bench/auth-ping"},
                count_statuses={"200"},
            )
            log(f"    auth-only {_fmt(run.results['auth'])}")
    finally:
        server.stop()
    return run


def _workers(server) -> list[int]:
    return server.children() or [server.pid]


def _fmt(r: LoadResult) -> str:
    errors = f"  errors {r.errors}" if r.errors else ""
    exhausted = (
        f"  ({r.exhausted_threads}/{r.threads} threads ran out of data)"
        if r.exhausted_threads and r.name not in ("purchase", "queue-join")
        else ""
    )
    return (
        f"{r.rps:8.0f} req/s  p50 {r.p50:6.1f} ms  p99 {r.p99:6.1f} ms  "
        f"[{r.requests} in {r.seconds:.1f}s; {r.status_text()}]{errors}{exhausted}"
    )
