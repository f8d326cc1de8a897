#!/usr/bin/env python
"""The load benchmark of issue 6 (`make bench`, `BENCH_ARGS=--quick make bench`).

Starts its own production-like stack (MariaDB primary + replica, Redis, RabbitMQ if reachable,
the app server under test, the Celery workers of the persister and of maintenance), then, in one run:
  1. per app server: a bare JSON view, the full purchase path, the waiting room's join and poll,
     and a naive SELECT … FOR UPDATE purchase, with wrk (bench/wrk/*.lua); the best server is
     chosen by purchase req/s;
  2. persistence: a pre-filled stream drained by the real Celery task, against one task per order;
  3. a whole sale (token + purchase per attempt) with a chart of req/s and queue depth;
  4. drains every stream and checks the invariants of every sale it created.
The last line is machine-readable (see FINAL_KEYS). Exit status 1 if an invariant is violated.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/ (whose modules must not shadow anything): use the root.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

FINAL_KEYS = (
    "purchase_rps",
    "purchase_p99_ms",
    "bare_rps",
    "naive_rps",
    "vs_naive",
    "vs_bare",
    "persist_orders_per_s",
    "oversell",
    "lost",
    "duplicates",
    "queue_join_rps",
    "queue_poll_rps",
    "queue_join_vs_purchase",
    "queue_poll_vs_purchase",
    "order_read_rps",
    "order_read_p99_ms",
    "sale_read_rps",
    "sale_read_p99_ms",
    "order_read_vs_purchase",
)
FULL_SERVERS = "gunicorn-sync:2,gunicorn-gthread:4x4,granian:2x2,granian:2x4,granian:3x2,granian:4x1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI smoke size: seconds of load per endpoint, a small sale")
    p.add_argument(
        "--servers",
        help=f"comma-separated app servers to compare (default {FULL_SERVERS}; "
        "quick: granian:4x1). Forms: gunicorn-sync:W, gunicorn-gthread:WxT, granian:WxT",
    )
    p.add_argument("--duration", type=float, help="seconds of load for bare and naive (default 10; quick 3)")
    p.add_argument(
        "--purchases",
        type=int,
        help="purchase requests of the purchase run, one token each (default 20000; quick 2000)",
    )
    p.add_argument(
        "--poll-line", type=int, help="shoppers in the line whose tickets the poll run sends (default 5000; quick 1000)"
    )
    p.add_argument("--repeats", type=int, help="purchase runs per server, median reported (default 3; quick 1)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads for the endpoint runs (default 2)")
    p.add_argument("--connections", type=int, help="wrk connections for the endpoint runs (default 32; quick 16)")
    p.add_argument(
        "--ratelimit",
        choices=("raised", "off"),
        default="raised",
        help="purchase path rate limits: 'raised' = enabled, 1000000/s per user and IP (the issue's "
        "'rate limits raised to allow the load'), 'off' = RATELIMIT_ENABLE=false",
    )
    p.add_argument(
        "--compare-ratelimit",
        action="store_true",
        help="also run the purchase path on the chosen server with the other --ratelimit setting",
    )
    p.add_argument(
        "--compare-buckets",
        type=int,
        metavar="N",
        help="also run the purchase path on the chosen server for one hot sale on 1 bucket against N buckets "
        "(with --redis-cluster: on each Redis kind)",
    )
    p.add_argument(
        "--persist", type=int, help="reservations pre-filled for the persistence run (default 100000; quick 3000)"
    )
    p.add_argument("--persist-one", type=int, help="orders for one-task-per-order (default 10000; quick 300)")
    p.add_argument("--sale-attempts", type=int, help="purchase attempts of the whole sale (default 100000; quick 2000)")
    p.add_argument("--sale-users", type=int, help="shoppers of the whole sale (default 10000; quick 200)")
    p.add_argument("--sale-stock", type=int, help="stock of the whole sale (default 10000; quick 200)")
    p.add_argument(
        "--sale-connections", type=int, help="wrk connections (= threads) of the whole sale (default 32; quick 8)"
    )
    p.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    p.add_argument(
        "--persist-during-load",
        action="store_true",
        help="run the Celery worker during the endpoint runs too (default: it starts after them, and "
        "persists their reservations then, so the web tier has the cores as on its own machines)",
    )
    p.add_argument("--skip-persist", action="store_true")
    p.add_argument("--skip-sale", action="store_true")
    p.add_argument(
        "--chart", type=Path, help="the whole sale's PNG (default docs/bench-sale.png; quick: in the temp dir)"
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="also profile the chosen server's workers with py-spy "
        "during an extra purchase run; collapsed stacks to DIR",
    )
    p.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app server, worker and beat (repeatable), e.g. to try a setting",
    )
    p.add_argument(
        "--redis-cluster",
        action="store_true",
        help="only compare the purchase path on one Redis against a 3-master Redis Cluster (bench/cluster.py), "
        "on the first of --servers (default granian:4x1); needs RabbitMQ",
    )
    p.add_argument(
        "--replica-acks",
        action="store_true",
        help="only compare the purchase with REDIS_REPLICA_ACKS=0 and 1 on a 3-master + 3-replica Redis Cluster "
        "(bench/cluster.py), on the first of --servers (default granian:4x1); needs RabbitMQ",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, wrk output, data files)")
    args = p.parse_args(argv)
    quick = args.quick
    defaults = dict(
        servers="granian:4x1" if quick or args.redis_cluster or args.replica_acks else FULL_SERVERS,
        duration=3 if quick else 10,
        repeats=1 if quick else 3,
        purchases=2000 if quick else 20000,
        poll_line=1000 if quick else 5000,
        connections=16 if quick else 32,
        persist=3000 if quick else 100_000,
        persist_one=300 if quick else 10_000,
        sale_attempts=2000 if quick else 100_000,
        sale_users=200 if quick else 10_000,
        sale_stock=200 if quick else 10_000,
        sale_connections=8 if quick else 32,
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.chart is None and not quick:
        args.chart = ROOT / "docs" / "bench-sale.png"
    return args


def log(msg: str = "") -> None:
    print(msg, flush=True)


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def machine_lines(stack) -> list[str]:
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")))
    import django
    import gunicorn

    try:
        import granian

        granian_v = granian.__version__
    except ImportError:
        granian_v = "not installed"
    return [
        f"machine: {os.cpu_count()} cores ({cpu}), {mem / 1024 / 1024:.0f} GiB, {platform.platform()}",
        f"software: Python {platform.python_version()}, Django {django.get_version()}, "
        f"gunicorn {gunicorn.__version__}, granian {granian_v}, {version(['wrk', '-v'])[:40]}, "
        f"MariaDB {stack.mariadb.primary.query('SELECT VERSION() v')[0]['v']}, "
        f"redis-server {stack.redis.binary} ({version([stack.redis.binary, '--version']).split()[2]})",
        f"broker: {stack.broker_name}; rate limits: {stack.ratelimit}; DB_CONN_MAX_AGE=60, DEBUG=false, captcha off",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so every server started here is stopped.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    from bench.load import wrk_binary
    from bench.procs import ServerSpec, clean_env
    from bench.stack import setup_django, start_stack

    wrk_binary()  # fail before starting anything
    specs = [ServerSpec.parse(s.strip()) for s in args.servers.split(",") if s.strip()]
    log(f"flash-sale bench ({'quick' if args.quick else 'full'}); {load_text()}")
    stack = start_stack(ratelimit=args.ratelimit, log=log)
    procs = []
    ok = False
    try:
        setup_django(stack)
        for line in machine_lines(stack):
            log(line)
        ok = _run(args, stack, specs, procs, clean_env)
    finally:
        for proc in reversed(procs):
            proc.stop()
        stack.stop(keep=args.keep)
        if args.keep:
            log(f"kept {stack.workdir}")
    return 0 if ok else 1


def _run(args, stack, specs, procs, clean_env) -> bool:
    from bench import checks, endpoints, load, persist, report, sale, seed
    from bench.procs import start_beat, start_server, start_worker

    load.OUT_ROOT = stack.workdir
    app_env = dict(item.split("=", 1) for item in args.app_env)
    if app_env:
        log(f"app environment overrides: {app_env}")
    env = clean_env(stack.env(**app_env))
    t = time.monotonic()
    n_users = (
        args.purchases
        if args.redis_cluster or args.replica_acks
        else max(args.purchases, args.sale_users, 2000, endpoints.NAIVE_USERS)
    )
    shoppers = seed.create_shoppers(n_users)
    log(
        f"setup: services {stack.timings['services']:.1f}s, migrate {stack.timings['migrate']:.1f}s, "
        f"{n_users} shoppers with API tokens {time.monotonic() - t:.1f}s"
    )
    if args.redis_cluster or args.replica_acks:
        return _run_cluster(args, stack, specs[0], shoppers, clean_env, app_env)
    workers = []

    def worker():
        """The Celery worker, started on first need."""
        if not workers:
            workers.append(
                start_worker(stack.workdir, env, queue=stack.queue, concurrency=args.worker_concurrency, name="main")
            )
            procs.append(workers[0])
            # As in production (Procfile, compose.yaml): expiry and reconciliation on a worker of their own.
            procs.append(
                start_worker(stack.workdir, env, queue=stack.maintenance_queue, concurrency=1, name="maintenance")
            )
        return workers[0]

    if args.persist_during_load:
        worker()
    plan = endpoints.Plan(
        duration=args.duration,
        purchases=args.purchases,
        threads=args.threads,
        connections=args.connections,
        warmup=1 if args.quick else 2,
        extra=not args.quick,
        persist_during_load=args.persist_during_load,
        repeats=args.repeats,
        poll_line=args.poll_line,
    )
    log()
    log(
        f"== Endpoints: wrk {args.threads} threads, {args.connections} connections; bare and naive "
        f"{args.duration:g}s each, purchase {args.purchases} requests (one pre-issued token each) x {args.repeats}, "
        f"median reported; queue join {args.purchases} first joins, queue poll {args.duration:g}s over "
        f"{args.poll_line} tickets; Celery worker "
        + ("running" if args.persist_during_load else "not running (reservations are persisted after these runs)")
    )
    runs = []
    for spec in specs:
        log(f"  {spec.label}  ({load_text()})")
        runs.append(
            endpoints.measure_server(spec, env=env, shoppers=shoppers, plan=plan, workdir=stack.workdir, log=log)
        )
    chosen = report.choose(runs)
    all_checks = [c for r in runs for c in r.checks]
    report.endpoint_table(runs, chosen, log=log)
    report.queue_table(runs, chosen, log=log)
    report.reads_table(runs, chosen, log=log)

    if args.compare_ratelimit:
        other = "off" if args.ratelimit == "raised" else "raised"
        other_env = clean_env(stack.env(**{**app_env, "RATELIMIT_ENABLE": "false" if other == "off" else "true"}))
        log(f"  purchase path on {chosen.spec.label} with rate limits {other} ({load_text()}):")
        variant = endpoints.measure_server(
            chosen.spec, env=other_env, shoppers=shoppers, plan=plan, workdir=stack.workdir, log=log
        )
        all_checks += variant.checks
        report.ratelimit_delta(chosen, variant, args.ratelimit, other, log=log)

    if args.compare_buckets:
        from bench import buckets

        log(
            f"  purchase path on {chosen.spec.label}, one hot sale on 1 bucket and on {args.compare_buckets} "
            f"({load_text()}):"
        )
        split = buckets.measure_buckets(
            chosen.spec,
            env=env,
            shoppers=shoppers,
            plan=plan,
            workdir=stack.workdir,
            buckets=args.compare_buckets,
            log=log,
        )
        all_checks += split.checks
        buckets.report(split, log=log)

    t = time.monotonic()
    backlog = [c.sale_id for c in all_checks if c.redis_stock is not None]
    worker()
    for sale_id in backlog:
        checks.drain(sale_id, timeout=600)
    if not args.persist_during_load:
        log(
            f"  the endpoint runs' reservations persisted by the worker started after them in "
            f"{time.monotonic() - t:.1f}s"
        )

    persist_result = None
    if not args.skip_persist:
        log()
        log(
            f"== Persistence: {args.persist} pre-filled reservations, worker concurrency {args.worker_concurrency} "
            f"({load_text()})"
        )
        seconds, prefill_s, check = persist.measure_batched(
            shoppers, args.persist, tasks=args.worker_concurrency, log=log
        )
        one_s, publish_s, one_check = persist.measure_one_per_order(
            shoppers,
            args.persist_one,
            workdir=stack.workdir,
            env=env,
            queue=f"{stack.queue}-one",
            concurrency=args.worker_concurrency,
        )
        persist_result = persist.PersistResult(
            args.persist, seconds, prefill_s, args.persist_one, one_s, publish_s, [check, one_check]
        )
        all_checks += persist_result.checks
        report.persist_table(persist_result, log=log)

    sale_result = None
    if not args.skip_sale:
        log()
        log(
            f"== Whole sale on {chosen.spec.label}: {args.sale_attempts} attempts (token + purchase each) from "
            f"{args.sale_users} shoppers on a stock of {args.sale_stock}, {args.sale_connections} connections, "
            f"worker + beat running ({load_text()})"
        )
        beat = start_beat(stack.workdir, env)
        procs.append(beat)
        server, base = start_server(chosen.spec, stack.workdir, env)
        procs.append(server)
        try:
            sale_result = sale.run_sale(
                base,
                shoppers[: args.sale_users],
                stock=args.sale_stock,
                attempts=args.sale_attempts,
                connections_=args.sale_connections,
                workdir=stack.workdir,
                limit_s=1800,
            )
        finally:
            server.stop()
            procs.remove(server)
        all_checks.append(sale_result.check)
        chart_path = args.chart or (stack.workdir / "bench-sale.png")
        sale.chart(sale_result, chart_path, report.chart_title(sale_result, chosen.spec.label))
        report.sale_summary(sale_result, chart_path, log=log)

    if args.profile:
        from bench import spy

        log()
        log(f"== Profile of {chosen.spec.label} during a purchase run ({load_text()})")
        spy.profile_purchase(
            chosen.spec, env=env, shoppers=shoppers, plan=plan, workdir=stack.workdir, out_dir=args.profile, log=log
        )
        if not args.skip_persist:
            log(f"== Profile of the Celery worker draining a pre-filled stream ({load_text()})")
            spy.profile_persist(
                worker(),
                shoppers=shoppers,
                n=min(args.persist, 30_000),
                tasks=args.worker_concurrency,
                out_dir=args.profile,
                log=log,
            )

    log()
    log(f"== Drain and invariants ({load_text()})")
    for c in all_checks:
        if c.redis_stock is not None:
            checks.drain(c.sale_id)
    final_checks = [checks.recheck(c, _sale(c.sale_id)) for c in all_checks]
    for c in final_checks:
        log(c.line())
    values = report.final_values(chosen, persist_result, final_checks)
    log(f"finished; {load_text()}")
    log(" ".join(f"{k}={values[k]}" for k in FINAL_KEYS))
    return all(c.ok for c in final_checks)


def _run_cluster(args, stack, spec, shoppers, clean_env, app_env) -> bool:
    from bench import cluster, endpoints

    plan = endpoints.Plan(
        duration=args.duration,
        purchases=args.purchases,
        threads=args.threads,
        connections=args.connections,
        warmup=1,
        repeats=args.repeats,
    )
    log()
    compare = cluster.compare_replica_acks if args.replica_acks else cluster.compare
    variants, all_checks = compare(args, stack, spec, shoppers, clean_env, app_env, plan, log)
    log()
    log(f"== Invariants after the drain ({load_text()})")
    for c in all_checks:
        log(c.line())
    values = (cluster.final_values_acks if args.replica_acks else cluster.final_values)(variants)
    log(f"finished; {load_text()}")
    log(" ".join(f"{k}={v}" for k, v in values.items()))
    return all(c.ok for c in all_checks)


def _sale(sale_id: int):
    from flashsale.models import FlashSale

    return FlashSale.objects.using("default").select_related("sku").get(pk=sale_id)


if __name__ == "__main__":
    sys.exit(main())
