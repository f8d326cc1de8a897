"""``make bench BENCH_ARGS=--redis-cluster``: the purchase path on one Redis against a 3-master
Redis Cluster, side by side on one app server. ``--replica-acks``: on a 3-master + 3-replica
cluster, the purchase with REDIS_REPLICA_ACKS=0 against 1 (its script and WAIT in one round trip).

The runs alternate (one Redis, the cluster, one Redis, ...), each on a fresh app server whose
environment names its Redis (``REDIS_URL``, ``REDIS_CLUSTER``), each on a fresh sale with one
pre-issued token per purchase; the median run of each is reported. This process follows the same
switch (settings and client) to seed tokens and check the sales. The reservations are then
persisted by a worker on each Redis and every sale's invariants are checked. The broker must be
RabbitMQ: Celery cannot use a Redis Cluster.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from django.conf import settings
from django.test import override_settings

from bench import checks, endpoints, seed
from bench.load import LoadResult
from bench.procs import start_server, start_worker
from config.redis import reset_redis


@dataclass
class Variant:
    label: str
    url: str
    cluster: bool
    buckets: int = 1  # the hot sale's stock_buckets (--compare-buckets N adds N-bucket variants)
    acks: int = 0  # REDIS_REPLICA_ACKS (--replica-acks compares 0 and 1)
    runs: list[LoadResult] = field(default_factory=list)
    checks: list[checks.SaleCheck] = field(default_factory=list)

    def env(self, stack, clean_env, app_env: dict[str, str]) -> dict[str, str]:
        return clean_env(
            stack.env(
                **app_env,
                REDIS_URL=self.url,
                REDIS_CLUSTER="true" if self.cluster else "false",
                REDIS_REPLICA_ACKS=str(self.acks),
            )
        )

    @property
    def median(self) -> LoadResult:
        return sorted(self.runs, key=lambda r: r.rps)[len(self.runs) // 2]


@contextlib.contextmanager
def this_process_on(variant: Variant):
    """This process's settings, Redis client and cache on the variant's Redis, for the block."""
    backend = "config.cluster_cache.RedisClusterCache" if variant.cluster else "django_redis.cache.RedisCache"
    cache = {**settings.CACHES["default"], "BACKEND": backend, "LOCATION": variant.url}
    with override_settings(REDIS_URL=variant.url, REDIS_CLUSTER=variant.cluster, CACHES={"default": cache}):
        reset_redis()
        try:
            yield
        finally:
            reset_redis()


def compare(args, stack, spec, shoppers, clean_env, app_env, plan, log) -> tuple[list[Variant], list[checks.SaleCheck]]:
    if not stack.uses_rabbitmq:
        raise SystemExit("--redis-cluster needs RabbitMQ at 127.0.0.1:5672: Celery cannot use a Redis Cluster")
    cluster = stack.start_redis_cluster()
    log(
        f"== One Redis against a {len(cluster.masters())}-master Redis Cluster (started in "
        f"{stack.timings['redis_cluster']:.1f}s): purchase on {spec.label}, {args.purchases} requests "
        f"(one pre-issued token each) x {args.repeats} per Redis, alternating, median reported"
    )
    variants = [Variant("one Redis", stack.redis.url, False), Variant("3-master cluster", cluster.url, True)]
    if args.compare_buckets:  # one hot sale split over N buckets, on each Redis kind
        n = args.compare_buckets
        variants += [
            Variant(f"one Redis, {n} buckets", stack.redis.url, False, n),
            Variant(f"cluster, {n} buckets", cluster.url, True, n),
        ]
    return _compare(variants, args, stack, spec, shoppers, clean_env, app_env, plan, log)


def compare_replica_acks(
    args, stack, spec, shoppers, clean_env, app_env, plan, log
) -> tuple[list[Variant], list[checks.SaleCheck]]:
    if not stack.uses_rabbitmq:
        raise SystemExit("--replica-acks needs RabbitMQ at 127.0.0.1:5672: Celery cannot use a Redis Cluster")
    cluster = stack.start_redis_cluster(replicas=1)
    log(
        f"== REDIS_REPLICA_ACKS 0 against 1 on a 3-master + 3-replica Redis Cluster (started in "
        f"{stack.timings['redis_cluster']:.1f}s, ack timeout {settings.REDIS_REPLICA_ACK_TIMEOUT_MS} ms): purchase "
        f"on {spec.label}, {args.purchases} requests (one pre-issued token each) x {args.repeats} per setting, "
        "alternating, median reported"
    )
    variants = [Variant("acks 0", cluster.url, True, acks=0), Variant("acks 1", cluster.url, True, acks=1)]
    return _compare(variants, args, stack, spec, shoppers, clean_env, app_env, plan, log)


def _compare(variants, args, stack, spec, shoppers, clean_env, app_env, plan, log):
    for attempt in range(args.repeats):
        for variant in variants:
            _one_run(variant, attempt, stack, spec, shoppers, clean_env, app_env, plan, log)
    table(variants, log=log)
    for variant in variants:  # persisted by a worker on the variant's Redis, then checked
        with this_process_on(variant):
            env = variant.env(stack, clean_env, app_env)
            name = ("cluster" if variant.cluster else "single") + f"-acks{variant.acks}"
            worker = start_worker(stack.workdir, env, queue=stack.queue, concurrency=args.worker_concurrency, name=name)
            try:
                for c in variant.checks:
                    checks.drain(c.sale_id, timeout=600)
                variant.checks = [checks.recheck(c, _sale(c.sale_id)) for c in variant.checks]
            finally:
                worker.stop()
    return variants, [c for v in variants for c in v.checks]


def final_values_acks(variants: list[Variant]) -> dict[str, str]:
    none, one = (v.median for v in variants)
    return {
        "acks0_rps": f"{none.rps:.0f}",
        "acks0_p99_ms": f"{none.p99:.1f}",
        "acks1_rps": f"{one.rps:.0f}",
        "acks1_p99_ms": f"{one.p99:.1f}",
        "acks1_vs_acks0": f"{one.rps / none.rps:.2f}",
    }


def final_values(variants: list[Variant]) -> dict[str, str]:
    single, cluster = (v.median for v in variants[:2])
    return {
        "single_redis_rps": f"{single.rps:.0f}",
        "single_redis_p99_ms": f"{single.p99:.1f}",
        "cluster_rps": f"{cluster.rps:.0f}",
        "cluster_p99_ms": f"{cluster.p99:.1f}",
        "cluster_vs_single": f"{cluster.rps / single.rps:.2f}",
    }


def _one_run(variant, attempt, stack, spec, shoppers, clean_env, app_env, plan, log) -> None:
    with this_process_on(variant):
        server, base = start_server(spec, stack.workdir, variant.env(stack, clean_env, app_env))
        try:
            # Warm-up: imports, connection pools (the cluster's slot table), the script on each node.
            n_warm = min(2000, plan.purchases)
            warm = seed.create_sale(title=f"warm-up {variant.label}", stock=n_warm, limit=1)
            endpoints._purchase("warm", base, warm, shoppers[:n_warm], plan, stack.workdir, quota_limit=10)
            sale = seed.create_sale(
                title=f"{variant.label} #{attempt + 1}", stock=plan.purchases, limit=1, buckets=variant.buckets
            )
            res = endpoints._purchase(
                "purchase", base, sale, shoppers[: plan.purchases], plan, stack.workdir, quota_limit=120
            )
        finally:
            server.stop()
        variant.runs.append(res)
        log(f"    {variant.label:<22} {endpoints._fmt(res)}  (run {attempt + 1} of {plan.repeats})")
        for s, label in ((sale, f"{variant.label} #{attempt + 1}"), (warm, f"warm-up {variant.label}")):
            variant.checks.append(checks.check_sale(s, label))


def table(variants: list[Variant], *, log=print) -> None:
    base = variants[0].median
    log(f"  Redis                   purchase req/s   p50 ms   p99 ms   vs {variants[0].label:<10} runs (req/s)")
    for v in variants:
        m = v.median
        runs = ", ".join(f"{r.rps:.0f}" for r in v.runs)
        log(f"  {v.label:<23} {m.rps:14.0f} {m.p50:8.1f} {m.p99:8.1f} {m.rps / base.rps:12.2f}x   {runs}")


def _sale(sale_id: int):
    from flashsale.models import FlashSale

    return FlashSale.objects.using("default").select_related("sku").get(pk=sale_id)
