#!/usr/bin/env python
"""purchase.lua's own ceiling on one redis-server: EVALSHA per second, pipelined, no web tier.

``.venv/bin/python bench/lua_ceiling.py [--purchases 200000] [--clients 2] [--pipeline 500]``

Starts a redis-server of its own (AOF everysec, as in production) in a temporary directory,
preheats one sale through the app's preheat script with a stock of ``--purchases``, stores one
purchase token per shopper, then has ``--clients`` processes send every purchase (one shopper
each, limit 1) as EVALSHA in pipelines of ``--pipeline``. It prints the EVALSHA/s reached, and the
server's own time per call (``INFO cpu`` over the run, and ``INFO commandstats``): 1 s divided by
that is the number of purchases one Redis core can run a second, the bound of one sale (one slot) whatever
the clients. Then it checks that exactly ``--purchases`` were accepted and the stock is 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
SALE_ID = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--purchases", type=int, default=200_000)
    p.add_argument("--clients", type=int, default=2, help="client processes sending pipelines (default 2)")
    p.add_argument("--pipeline", type=int, default=500, help="EVALSHA per pipeline (default 500)")
    return p.parse_args(argv)


def setup_django(redis_url: str, var_dir: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(40),
        REDIS_URL=redis_url,
        VAR_DIR=str(var_dir),
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    import django

    django.setup()


def preheat(stock: int) -> None:
    from config.redis import get_redis
    from inventory.redis_schema import sale_keys
    from inventory.selectors import redis_sale_state
    from inventory.services import QueueSettings, SaleWindow, preheat_write

    now_ms = int(time.time() * 1000)
    window = SaleWindow(now_ms - 1000, now_ms + 3_600_000, 1, True)
    seen = redis_sale_state(SALE_ID)
    assert preheat_write(
        sale_id=SALE_ID, seen=seen, inflight=0, generation=1, stock=stock, window=window, rebuild=None,
        queue=QueueSettings(),
    )  # fmt: skip
    assert int(get_redis().get(sale_keys(SALE_ID).stock)) == stock


def purchase_commands(first_user: int, count: int) -> list[tuple]:
    """EVALSHA argument tuples for users first_user.., storing each user's token nonce as it goes."""
    from django.conf import settings

    from config.redis import get_redis
    from flashsale.services import purchase_ask
    from inventory.purchase import purchase_script_arguments
    from inventory.redis_schema import reservation_id_new, sale_keys
    from inventory.scripts import script

    sha = get_redis().script_load(script("purchase").registered.script)
    keys, ttl, r = sale_keys(SALE_ID), settings.FLASHSALE["TOKEN_TTL"], get_redis()
    commands, pipe = [], r.pipeline(transaction=False)
    for user in range(first_user, first_user + count):
        nonce = secrets.token_urlsafe(16)
        pipe.set(keys.token(user), nonce, ex=max(ttl, 3600))
        ask = purchase_ask(
            sale_id=SALE_ID, user_id=user, quantity=1, nonce=nonce, reservation_id=reservation_id_new(SALE_ID)
        )
        script_keys, script_args = purchase_script_arguments(ask)
        commands.append(("EVALSHA", sha, len(script_keys), *script_keys, *script_args))
    pipe.execute()
    return commands


def send(commands: list[tuple], batch: int, redis_url: str, start, done) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=60)
    start.wait()
    for lo in range(0, len(commands), batch):
        pipe = client.pipeline(transaction=False)
        for command in commands[lo : lo + batch]:
            pipe.execute_command(*command)
        pipe.execute()
    done.put(time.monotonic())


def server_numbers(client) -> tuple[int, float, float]:
    """(EVALSHA calls, server µs per call, server CPU seconds) since the last CONFIG RESETSTAT."""
    stats = client.info("commandstats").get("cmdstat_evalsha", {"calls": 0, "usec_per_call": 0.0})
    cpu = client.info("cpu")
    return int(stats["calls"]), float(stats["usec_per_call"]), cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def phase(client, url: str, first_user: int, count: int, clients: int, batch: int) -> dict[str, float]:
    """Send `count` purchases of users first_user.. from `clients` processes; what the server spent."""
    share = -(-count // clients)
    parts = [purchase_commands(first_user + i * share, min(share, count - i * share)) for i in range(clients)]
    ctx = multiprocessing.get_context("fork")
    start, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=send, args=(part, batch, url, start, done)) for part in parts]
    for proc in procs:
        proc.start()
    client.config_resetstat()
    cpu_before = server_numbers(client)[2]
    began = time.monotonic()
    start.set()
    ended = max(done.get(timeout=600) for _ in procs)
    for proc in procs:
        proc.join()
    calls, usec_per_call, cpu_after = server_numbers(client)
    return {
        "calls": calls,
        "rps": calls / (ended - began),
        "elapsed_us": usec_per_call,
        "cpu_us": (cpu_after - cpu_before) / calls * 1e6,
    }


def report(name: str, numbers: dict[str, float]) -> None:
    print(
        f"{name}: {numbers['calls']:.0f} EVALSHA at {numbers['rps']:,.0f}/s reached; server CPU "
        f"{numbers['cpu_us']:.1f} us per call (all of it: reading, parsing, running, replying, AOF), "
        f"{numbers['elapsed_us']:.1f} us elapsed inside the call (commandstats: wall time, so a server "
        f"thread descheduled on a busy machine counts too); one core: {1e6 / numbers['cpu_us']:,.0f}/s by CPU, "
        f"{1e6 / numbers['elapsed_us']:,.0f}/s by elapsed time (the conservative figure)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from devstack import RedisServer

    with tempfile.TemporaryDirectory(prefix="lua-ceiling-") as tmp, RedisServer(Path(tmp) / "redis") as server:
        setup_django(server.url, Path(tmp) / "var")
        from config.redis import get_redis
        from inventory.redis_schema import sale_keys

        client = get_redis()
        preheat(args.purchases)
        accepting = phase(client, server.url, 1, args.purchases, args.clients, args.pipeline)
        accepted = int(client.hget(sale_keys(SALE_ID).stats, "purchase:OK") or 0)
        stock = int(client.get(sale_keys(SALE_ID).stock))
        # Then as many shoppers again on the empty stock: what the refusals after the sell-out cost.
        refusing = phase(client, server.url, 1 + args.purchases, args.purchases, args.clients, args.pipeline)
        sold_out = int(client.hget(sale_keys(SALE_ID).stats, "purchase:SOLD_OUT") or 0)
        version = client.info("server")["redis_version"]
    print(
        f"redis-server {version} (AOF everysec), {os.cpu_count()} cores (shared), {args.clients} client "
        f"processes, pipelines of {args.pipeline}"
    )
    report("accepted purchases", accepting)
    report("refused (sold out)", refusing)
    ok = accepted == args.purchases and stock == 0 and sold_out == args.purchases
    print(f"accepted {accepted} of {args.purchases}, stock left {stock}, refused as sold out {sold_out}")
    print(
        f"lua_ceiling_rps={accepting['rps']:.0f} ok_cpu_us={accepting['cpu_us']:.1f} "
        f"ok_elapsed_us={accepting['elapsed_us']:.1f} core_ceiling_ok={1e6 / accepting['cpu_us']:.0f} "
        f"sold_out_cpu_us={refusing['cpu_us']:.1f} core_ceiling_sold_out={1e6 / refusing['cpu_us']:.0f} ok={ok}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
