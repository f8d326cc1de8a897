"""A whole sale: N purchase attempts (token, then purchase) from U shoppers on a stock of S.

wrk runs bench/wrk/sale.lua with one connection per thread, so each purchase carries the token
its own previous request got. A side thread samples the stream length, the Redis stock and the
persisted orders every 100 ms. Reported: time to sell out, time from the last accepted purchase
until every order is committed, latency percentiles per request kind, and a PNG chart.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections
from django.db.models import Count, Max

from bench import checks, seed
from bench.load import LoadResult, run_wrk
from config.redis import get_redis
from inventory.redis_schema import sale_keys
from orders.models import Order

SAMPLE_EVERY = 0.1


@dataclass
class Sample:
    t: float  # time.monotonic()
    stream: int
    stock: int
    persisted: int


class Sampler(threading.Thread):
    def __init__(self, sale_id: int):
        super().__init__(name="bench-sampler", daemon=True)
        self.sale_id, self.samples, self._halt = sale_id, [], threading.Event()

    def run(self) -> None:
        keys, r = sale_keys(self.sale_id), get_redis()
        try:
            while not self._halt.is_set():
                t = time.monotonic()
                pipe = r.pipeline(transaction=False)
                pipe.xlen(keys.stream)
                pipe.get(keys.stock)
                xlen, stock = pipe.execute()
                persisted = Order.objects.using("default").filter(sale_id=self.sale_id).count()
                self.samples.append(Sample(t, int(xlen), int(stock or 0), persisted))
                self._halt.wait(max(0.0, SAMPLE_EVERY - (time.monotonic() - t)))
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


@dataclass
class SaleResult:
    attempts: int
    shoppers: int
    stock: int
    load: LoadResult
    records: list[tuple[float, int, int, float]]  # (end s since start, kind, status, latency ms)
    samples: list[Sample]
    t_start: float  # monotonic time of the first request
    sold_out_s: float | None  # from the first request to the last accepted purchase (its 202)
    persist_lag_s: float | None  # from the last 202 to every order committed (sampled every 100 ms)
    persist_lag_db_s: float | None  # the DB's own view: max created_at − max reserved_at
    accepted: int
    check: checks.SaleCheck
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def run_sale(
    base: str,
    shoppers: list[seed.Shopper],
    *,
    stock: int,
    attempts: int,
    connections_: int,
    workdir: Path,
    limit_s: float,
) -> SaleResult:
    sale = seed.create_sale(title="whole sale", stock=stock, limit=1)
    users = seed.write_users_file(workdir / "users-sale.txt", shoppers)
    sampler = Sampler(sale.pk)
    sampler.start()
    try:
        load = run_wrk(
            "sale",
            base,
            "sale.lua",
            threads=connections_,
            connections=connections_,
            duration=limit_s,
            env={"BENCH_DATA": str(users), "BENCH_SALE": str(sale.pk), "BENCH_QUOTA": str(attempts)},
            quota=True,
        )
        records = _read_records(load.out_dir / "records.csv")
        accepted = int(get_redis().hget(sale_keys(sale.pk).stats, "purchase:OK") or 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until every accepted purchase is an order (or a minute)
            if sampler.samples and sampler.samples[-1].persisted >= accepted and sampler.samples[-1].stream == 0:
                break
            time.sleep(SAMPLE_EVERY)
        time.sleep(3 * SAMPLE_EVERY)
    finally:
        sampler.stop()
    t_start = min(t - lat / 1000 for t, _k, _s, lat in records) if records else time.monotonic()
    times = (
        Order.objects.using("default")
        .filter(sale_id=sale.pk)
        .aggregate(n=Count("id"), last_reserved=Max("reserved_at"), last_created=Max("created_at"))
    )
    # The last accepted purchase, as the client saw it (the 202 of the unit that sold the stock out).
    last_202 = max((t for t, k, s, _lat in records if k == 2 and s == 202), default=None)
    sold_out_s = persist_lag_s = persist_lag_db_s = None
    if last_202 is not None:
        sold_out_s = last_202 - t_start
        done = next((s.t for s in sampler.samples if s.persisted >= accepted and s.t >= last_202), None)
        persist_lag_s = None if done is None else max(0.0, done - last_202)
    if times["n"] >= accepted and times["last_reserved"]:
        persist_lag_db_s = (times["last_created"] - times["last_reserved"]).total_seconds()
    result = SaleResult(
        attempts,
        len(shoppers),
        stock,
        load,
        [(t - t_start, k, s, lat) for t, k, s, lat in records],
        sampler.samples,
        t_start,
        sold_out_s,
        persist_lag_s,
        persist_lag_db_s,
        accepted,
        checks.check_sale(sale, "whole sale"),
    )
    _summarise(result)
    return result


def _read_records(path: Path) -> list[tuple[float, int, int, float]]:
    out = []
    for line in path.read_text().splitlines():
        t, k, s, lat = line.split(",")
        out.append((int(t) / 1e6, int(k), int(s), int(lat) / 1000))
    return out


def _summarise(result: SaleResult) -> None:
    for kind, name in ((1, "token"), (2, "purchase")):
        lats = sorted(lat for _t, k, _s, lat in result.records if k == kind)
        result.latency[name] = {f"p{q}": percentile(lats, q) for q in (50, 90, 99, 99.9)} | {
            "max": lats[-1] if lats else 0.0,
            "n": len(lats),
        }
        counts: dict[int, int] = {}
        for _t, k, s, _lat in result.records:
            if k == kind:
                counts[s] = counts.get(s, 0) + 1
        result.statuses[name] = counts


def chart(result: SaleResult, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bucket = 0.1
    end = max([r[0] for r in result.records] + [s.t - result.t_start for s in result.samples] + [1.0])
    nb = int(end / bucket) + 1
    series = {"token requests": [0] * nb, "purchases accepted (202)": [0] * nb, "purchases refused (409)": [0] * nb}
    for t, k, s, _lat in result.records:
        i = int(t / bucket)
        if k == 1:
            series["token requests"][i] += 1
        elif s == 202:
            series["purchases accepted (202)"][i] += 1
        else:
            series["purchases refused (409)"][i] += 1
    xs = [i * bucket for i in range(nb)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    for name, counts in series.items():
        top.plot(xs, [c / bucket for c in counts], label=name, linewidth=1)
    top.set_ylabel("requests/s (100 ms buckets)")
    top.legend(loc="upper right")
    top.grid(alpha=0.3)
    st = [s.t - result.t_start for s in result.samples]
    bottom.plot(
        st,
        [s.stream for s in result.samples],
        color="tab:blue",
        label="queue depth: stream entries not yet persisted (left)",
    )
    right = bottom.twinx()
    right.plot(
        st, [s.stock for s in result.samples], color="tab:orange", linestyle="--", label="Redis stock left (right)"
    )
    right.plot(
        st,
        [s.persisted for s in result.samples],
        color="tab:green",
        linestyle=":",
        label="orders committed in MariaDB (right)",
    )
    right.set_ylabel("units / orders")
    if result.sold_out_s is not None:
        for ax in (top, bottom):
            ax.axvline(result.sold_out_s, color="grey", linewidth=0.8)
        top.annotate(" sold out", (result.sold_out_s, top.get_ylim()[1] * 0.92), color="grey")
    bottom.set_xlabel("seconds since the first request")
    bottom.set_ylabel("stream entries")
    lines = bottom.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    bottom.legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
    bottom.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
