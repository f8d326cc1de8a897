"""py-spy on the app server's workers during a purchase run (``bench/run.py --profile DIR``).

The profiled run is separate from the measured ones (sampling costs the workers some CPU). It
writes py-spy's collapsed stacks per worker and prints where the workers' CPU time goes: the
share of samples inside each of a few groups of frames (inclusive), and the top functions.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bench.procs import BIN

# Components, matched against each frame ("function (file)"); a sample belongs to the deepest
# frame that matches one (so a wrapper such as a middleware keeps only its own work).
COMPONENTS = [
    ("WSGI server (granian/gunicorn)", r"\((granian|gunicorn)/"),
    ("Django handler + URL resolving", r"django/core/handlers|django/urls/"),
    ("middleware: security/whitenoise/common/xframe", r"middleware/(security|common|clickjacking)|whitenoise/"),
    ("middleware: sessions + messages", r"contrib/(sessions|messages)/"),
    ("middleware: auth (lazy user)", r"contrib/auth/middleware"),
    ("middleware: CSRF", r"middleware/csrf|decorators/csrf"),
    ("middleware: replica pin + cookie", r"PinPrimaryAfterWriteMiddleware|http/response\.py.*set_cookie"),
    ("middleware: project (config/middleware.py)", r"config/middleware\.py"),
    ("DRF dispatch, parsing, negotiation", r"rest_framework/(views|request|negotiation|parsers)\.py"),
    ("DRF token authentication (DB query)", r"rest_framework/authentication\.py|config/authentication\.py"),
    ("DB connection health check (CONN_HEALTH_CHECKS ping)", r"is_usable|close_if_unusable_or_obsolete"),
    ("rate limits (django-ratelimit, Redis)", r"flashsale/ratelimits\.py|django_ratelimit/"),
    ("DRF serializers (input and output)", r"rest_framework/(serializers|fields)\.py|config/fields\.py"),
    ("purchase token verify (signing)", r"flashsale/tokens\.py|django/core/signing"),
    ("purchase Lua script (one Redis call)", r"inventory/purchase\.py|inventory/services\.py|config/redis\.py"),
    ("persister wake-up publish (background thread)", r"flashsale/persister_wakeup\.py"),
    ("DRF response rendering", r"rest_framework/(response|renderers)\.py|template/response"),
    ("Django 4xx logging", r"log_response"),
]
# The same for the persister (a Celery pool process draining the stream).
PERSIST_COMPONENTS = [
    ("Celery worker loop, task protocol, ack", r"\((celery|kombu|billiard|amqp)/"),
    ("read a batch (XREADGROUP; XPENDING/XAUTOCLAIM when due)", r"read_batch"),
    ("parse entries", r"stream_entry_parse|reservation_id_sale"),
    ("XPENDING delivery counts (re-read entries only)", r"over_delivered"),
    ("load the sale (once per drain)", r"QuerySet\.first \("),
    ("DB: BEGIN (autocommit off)", r"Atomic\.__enter__ \("),
    ("DB: users exist", r"known_users"),
    ("DB: skip known reservation ids (re-read entries only)", r"_existing"),
    ("DB: INSERT orders ... RETURNING (build + execute)", r"insert_orders|_insert_returning|_insert_orm"),
    ("DB: INSERT history ... SELECT", r"insert_history"),
    ("DB: stock UPDATE", r"_take_stock"),
    ("DB: COMMIT (and autocommit on)", r"Atomic\.__exit__ \("),
    ("read-your-writes marker (GTID, Redis)", r"note_user_writes"),
    ("settle.lua (XACK, XDEL, counters, statuses)", r"^settle \(orders/stream_consumer\.py|reservations_settle"),
    ("persist metrics (Redis)", r"persist_batch_record"),
]
# Where the time is spent: the innermost frame, grouped.
LEAVES = [
    ("waiting on MariaDB socket (MySQLdb)", r"MySQLdb/|is_usable"),
    ("waiting on Redis socket (redis-py)", r"redis/_parsers|redis/connection\.py.*(send|read|can_read)"),
    ("AMQP publish (kombu/amqp)", r"amqp/|kombu/"),
    ("WSGI server I/O", r"granian/|gunicorn/"),
]


def pyspy() -> str:
    path = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(path).exists():
        raise SystemExit("py-spy is not installed: pip install -r requirements-dev.txt")
    return path


def profile_purchase(
    spec, *, env: dict[str, str], shoppers: list, plan, workdir: Path, out_dir: Path, log=print
) -> None:
    from bench import checks, seed  # Django must be set up first (bench/run.py does)
    from bench.endpoints import _purchase
    from bench.load import run_wrk
    from bench.procs import start_server

    out_dir.mkdir(parents=True, exist_ok=True)
    server, base = start_server(spec, workdir, env)
    try:
        warm = seed.create_sale(title="profile warm-up", stock=2000, limit=1)
        run_wrk("warm-ping", base, "ping.lua", threads=plan.threads, connections=plan.connections, duration=plan.warmup)
        _purchase("warm", base, warm, shoppers[:2000], plan, workdir, quota_limit=10)
        checks.drain(warm.pk)
        sale = seed.create_sale(title="profiled purchase", stock=plan.purchases, limit=1)
        spies = _spy_on(server.children() or [server.pid], out_dir, spec.kind)
        result = _purchase("profiled", base, sale, shoppers[: plan.purchases], plan, workdir, quota_limit=600)
        _stop(spies)
        checks.drain(sale.pk)
        log(
            f"  profiled purchase run ({spec.label}, py-spy at 200 Hz on {len(spies)} workers): "
            f"{result.rps:.0f} req/s, p99 {result.p99:.1f} ms"
        )
        summarise([raw for raw, _ in spies], log=log)
    finally:
        server.stop()


def profile_persist(worker, *, shoppers: list, n: int, tasks: int, out_dir: Path, log=print) -> None:
    """py-spy on the Celery pool processes while they drain a pre-filled stream of n reservations."""
    import math
    import time

    from bench import checks, seed
    from orders.tasks import reservations_drain_task

    out_dir.mkdir(parents=True, exist_ok=True)
    sale = seed.create_sale(title="profiled persist", stock=n, limit=math.ceil(n / len(shoppers)))
    seed.prefill_stream(sale, shoppers, n)
    spies = _spy_on(worker.children() or [worker.pid], out_dir, "celery")
    t0 = time.monotonic()
    for _ in range(tasks):
        reservations_drain_task.delay(sale.pk)
    checks.drain(sale.pk, timeout=600)
    seconds = time.monotonic() - t0
    _stop(spies)
    log(
        f"  profiled drain of {n} reservations (py-spy at 200 Hz on {len(spies)} pool processes): "
        f"{n / seconds:,.0f} orders/s"
    )
    summarise([raw for raw, _ in spies], log=log, components_table=PERSIST_COMPONENTS)


def _spy_on(pids: list[int], out_dir: Path, label: str) -> list:
    return [
        (
            out_dir / f"{label}-{pid}.txt",
            subprocess.Popen(
                [
                    pyspy(),
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out_dir / f"{label}-{pid}.txt"),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            ),
        )
        for pid in pids
    ]


def _stop(spies: list) -> None:
    for _raw, spy in spies:
        spy.send_signal(signal.SIGINT)
    for _raw, spy in spies:
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()


def summarise(files: list[Path], *, log=print, top: int = 15, components_table=None) -> None:
    total = 0
    by_component: collections.Counter[str] = collections.Counter()
    by_leaf: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    components = [(name, re.compile(rx)) for name, rx in (components_table or COMPONENTS)]
    leaves = [(name, re.compile(rx)) for name, rx in LEAVES]
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
            total += n
            for f in set(frames):
                inclusive[f] += n
            self_time[frames[-1]] += n
            owner = "other (Python outside these)"
            for f in frames:  # root first: the deepest match wins
                for name, rx in components:
                    if rx.search(f):
                        owner = name
            by_component[owner] += n
            leaf = next((name for name, rx in leaves if rx.search(frames[-1])), "Python code (CPU)")
            by_leaf[leaf] += n
    if not total:
        log("  (no samples)")
        return
    log(f"  {total} samples. By component (deepest matching frame):")
    for name, n in by_component.most_common():
        log(f"    {100 * n / total:5.1f}%  {name}")
    log("  By innermost frame:")
    for name, n in by_leaf.most_common():
        log(f"    {100 * n / total:5.1f}%  {name}")
    log(f"  Top {top} functions, inclusive:")
    for f, n in inclusive.most_common(top):
        log(f"    {100 * n / total:5.1f}%  {f}")
    log(f"  Top {top} functions, self:")
    for f, n in self_time.most_common(top):
        log(f"    {100 * n / total:5.1f}%  {f}")


if __name__ == "__main__":  # python -m bench.spy FILE... : summarise saved collapsed stacks again
    paths = [Path(p) for p in sys.argv[1:]]
    persister = all(p.name.startswith("celery-") for p in paths)  # profile_persist's file names
    summarise(paths, components_table=PERSIST_COMPONENTS if persister else None)
