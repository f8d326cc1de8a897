"""Tables and the machine-readable line of a bench run."""

from __future__ import annotations

from bench.endpoints import ServerRun

P99_TARGET_MS = 30.0


def choose(runs: list[ServerRun]) -> ServerRun:
    """The server with the highest purchase req/s among those meeting the p99 target (else overall)."""
    meeting = [r for r in runs if r.results["purchase"].p99 <= P99_TARGET_MS]
    return max(meeting or runs, key=lambda r: r.results["purchase"].rps)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def endpoint_table(runs: list[ServerRun], chosen: ServerRun, *, log=print) -> None:
    log()
    log(
        f"  {'server':<24}{'bare req/s':>11}{'p50':>7}{'p99':>7} |{'purchase req/s':>15}{'p50':>7}{'p99':>7} |"
        f"{'naive req/s':>12}{'p50':>7}{'p99':>7} |{'vs_naive':>9}{'vs_bare':>8}"
    )
    for r in runs:
        b, p, n = r.results["bare"], r.results["purchase"], r.results["naive"]
        mark = " *" if r is chosen else ""
        log(
            f"  {r.spec.label + mark:<24}{b.rps:>11.0f}{b.p50:>7.1f}{b.p99:>7.1f} |{p.rps:>15.0f}{p.p50:>7.1f}"
            f"{p.p99:>7.1f} |{n.rps:>12.0f}{n.p50:>7.1f}{n.p99:>7.1f} |{_ratio(p.rps, n.rps):>9.1f}"
            f"{_ratio(p.rps, b.rps):>8.2f}"
        )
    log(
        "  (latencies in ms; purchase: the median of its runs; * = chosen: highest purchase req/s with p99 <= 30 ms, "
        "else highest purchase req/s)"
    )
    for r in runs:
        if len(r.purchase_rps_all) > 1:
            log(f"  {r.spec.label}: purchase runs {' / '.join(f'{x:.0f}' for x in r.purchase_rps_all)} req/s")
    for r in runs:
        if "auth" in r.results:
            a = r.results["auth"]
            drained = f"; purchase drained in {r.drain_s:.1f}s after its run" if r.drain_s else ""
            log(
                f"  {r.spec.label}: DRF + the app's token auth only (bench/auth-ping) {a.rps:.0f} req/s, "
                f"p99 {a.p99:.1f} ms{drained}"
            )


def queue_table(runs: list[ServerRun], chosen: ServerRun, *, log=print) -> None:
    log()
    log(
        f"  {'server':<24}{'purchase req/s':>15}{'p50':>7}{'p99':>7} |{'queue join req/s':>17}{'p50':>7}{'p99':>7} |"
        f"{'queue poll req/s':>17}{'p50':>7}{'p99':>7} |{'join/purch':>11}{'poll/purch':>11}"
    )
    for r in runs:
        p, j, q = r.results["purchase"], r.results["queue_join"], r.results["queue_poll"]
        mark = " *" if r is chosen else ""
        log(
            f"  {r.spec.label + mark:<24}{p.rps:>15.0f}{p.p50:>7.1f}{p.p99:>7.1f} |{j.rps:>17.0f}{j.p50:>7.1f}"
            f"{j.p99:>7.1f} |{q.rps:>17.0f}{q.p50:>7.1f}{q.p99:>7.1f} |{_ratio(j.rps, p.rps):>11.2f}"
            f"{_ratio(q.rps, p.rps):>11.2f}"
        )
    log(
        "  (queue join: one first join per shopper, API token; queue poll: X-Queue-Ticket only, the line admitting "
        "as it is polled; targets: join >= 1x and poll >= 2x the purchase's req/s)"
    )


def ratelimit_delta(base: ServerRun, variant: ServerRun, base_mode: str, other: str, *, log=print) -> None:
    p0, p1 = base.results["purchase"], variant.results["purchase"]
    log(
        f"  purchase with rate limits {base_mode}: {p0.rps:.0f} req/s p99 {p0.p99:.1f} ms; "
        f"{other}: {p1.rps:.0f} req/s p99 {p1.p99:.1f} ms ({_ratio(p1.rps, p0.rps) - 1:+.0%})"
    )


def persist_table(res, *, log=print) -> None:
    log(
        f"  batched stream -> MariaDB (orders.persist_reservations): {res.batched_orders} orders in "
        f"{res.batched_seconds:.2f}s = {res.batched_rate:,.0f} orders/s"
    )
    log(
        f"  one Celery task per order (bench.persist_one_order):   {res.one_orders} orders in "
        f"{res.one_seconds:.2f}s = {res.one_rate:,.0f} orders/s  (publishing them took {res.one_publish_seconds:.1f}s)"
    )
    log(f"  batched / one-per-order = {res.ratio:.1f}x")


def chart_title(sale, server_label: str) -> str:
    sold = f"sold out in {sale.sold_out_s:.2f}s" if sale.sold_out_s is not None else "not sold out"
    lag = f"all persisted {sale.persist_lag_s:.2f}s after the last purchase" if sale.persist_lag_s is not None else ""
    return (
        f"Whole sale: {sale.attempts:,} attempts from {sale.shoppers:,} shoppers on stock {sale.stock:,} "
        f"({server_label}); {sold}; {lag}"
    )


def sale_summary(sale, chart_path, *, log=print) -> None:
    load = sale.load
    done = (
        ""
        if load.exhausted_threads == load.threads
        else f" (STOPPED at the time limit: {load.exhausted_threads}/{load.threads} threads done)"
    )
    log(
        f"  {load.requests} requests in {load.seconds:.1f}s = {load.rps:.0f} req/s{done} "
        f"({sale.latency['purchase']['n'] / load.seconds:.0f} purchase attempts/s)"
    )
    if sale.sold_out_s is not None:
        log(f"  time to sell out: {sale.sold_out_s:.2f}s (first request -> last accepted purchase)")
    if sale.persist_lag_s is not None:
        db = f" (DB timestamps: {sale.persist_lag_db_s:.2f}s)" if sale.persist_lag_db_s is not None else ""
        log(f"  last purchase -> every order committed: {sale.persist_lag_s:.2f}s, sampled every 100 ms{db}")
    else:
        log(
            f"  NOT every order was committed within 60 s of the end of the load "
            f"({sale.check.orders} of {sale.accepted})"
        )
    for kind in ("token", "purchase"):
        lat = sale.latency[kind]
        st = " ".join(f"{k}:{v}" for k, v in sorted(sale.statuses[kind].items()))
        log(
            f"  {kind:<8} n={lat['n']:<7} p50 {lat['p50']:.1f} ms  p90 {lat['p90']:.1f}  p99 {lat['p99']:.1f}  "
            f"p99.9 {lat['p99.9']:.1f}  max {lat['max']:.1f}   [{st}]"
        )
    log(f"  accepted {sale.accepted} of stock {sale.stock}; chart: {chart_path}")


def reads_table(runs: list[ServerRun], chosen: ServerRun, *, log=print) -> None:
    log()
    log(
        f"  {'server':<24}{'purchase req/s':>15}{'p99':>7} |{'order read req/s':>17}{'p50':>7}{'p99':>7} |"
        f"{'sale read req/s':>16}{'p50':>7}{'p99':>7} |{'order/purch':>12}{'sale/purch':>11}"
    )
    for r in runs:
        p, o, s = r.results["purchase"], r.results["order_read"], r.results["sale_read"]
        mark = " *" if r is chosen else ""
        log(
            f"  {r.spec.label + mark:<24}{p.rps:>15.0f}{p.p99:>7.1f} |{o.rps:>17.0f}{o.p50:>7.1f}{o.p99:>7.1f} |"
            f"{s.rps:>16.0f}{s.p50:>7.1f}{s.p99:>7.1f} |{_ratio(o.rps, p.rps):>12.2f}{_ratio(s.rps, p.rps):>11.2f}"
        )
    log(
        "  (order read: GET /api/orders/{number}/ with each shopper's API token, warm cache; sale read: "
        "GET /api/sales/{id}/, no credential; target: order read >= 1x the purchase's req/s)"
    )


def final_values(chosen: ServerRun, persist_result, final_checks) -> dict[str, str]:
    b, p, n = chosen.results["bare"], chosen.results["purchase"], chosen.results["naive"]
    j, q = chosen.results["queue_join"], chosen.results["queue_poll"]
    o, s = chosen.results["order_read"], chosen.results["sale_read"]
    return {
        "purchase_rps": f"{p.rps:.0f}",
        "purchase_p99_ms": f"{p.p99:.1f}",
        "bare_rps": f"{b.rps:.0f}",
        "naive_rps": f"{n.rps:.0f}",
        "vs_naive": f"{_ratio(p.rps, n.rps):.1f}",
        "vs_bare": f"{_ratio(p.rps, b.rps):.2f}",
        "persist_orders_per_s": f"{persist_result.batched_rate:.0f}" if persist_result else "0",
        "oversell": str(sum(c.oversell for c in final_checks)),
        "lost": str(sum(c.lost for c in final_checks)),
        "duplicates": str(sum(c.duplicates for c in final_checks)),
        "queue_join_rps": f"{j.rps:.0f}",
        "queue_poll_rps": f"{q.rps:.0f}",
        "queue_join_vs_purchase": f"{_ratio(j.rps, p.rps):.2f}",
        "queue_poll_vs_purchase": f"{_ratio(q.rps, p.rps):.2f}",
        "order_read_rps": f"{o.rps:.0f}",
        "order_read_p99_ms": f"{o.p99:.1f}",
        "sale_read_rps": f"{s.rps:.0f}",
        "sale_read_p99_ms": f"{s.p99:.1f}",
        "order_read_vs_purchase": f"{_ratio(o.rps, p.rps):.2f}",
    }
