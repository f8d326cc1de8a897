"""Data for the bench: shoppers with API tokens, sales, pre-issued purchase tokens, a pre-filled stream.

Everything goes through the app's own models and functions (``token_sign``, ``sale_preheat``, the
purchase Lua script), only batched: creating 100k users or tokens one request at a time would take
longer than the measurements.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.redis import get_redis
from flashsale.models import FlashSale
from flashsale.queue import queue_join
from flashsale.services import purchase_ask
from flashsale.tokens import token_sign
from inventory.models import Sku, Stock
from inventory.purchase import purchase_script_arguments
from inventory.redis_schema import home_bucket, reservation_id_new, sale_keys
from inventory.scripts import script
from inventory.selectors import sale_bucket_count
from orders.models import Order
from reconciliation.preheat import sale_preheat


@dataclass(frozen=True)
class Shopper:
    user_id: int
    api_token: str


def create_shoppers(n: int, *, batch: int = 5000) -> list[Shopper]:
    """n new users (unusable passwords: they only use API tokens) and their DRF tokens."""
    User = get_user_model()
    first = User.objects.count()
    names = [f"bench{first + i:07d}" for i in range(n)]
    for lo in range(0, n, batch):
        User.objects.bulk_create([User(username=name, password="!") for name in names[lo : lo + batch]])
    ids = list(
        User.objects.filter(username__gte=names[0], username__lte=names[-1]).order_by("id").values_list("id", flat=True)
    )
    shoppers = [Shopper(uid, secrets.token_hex(20)) for uid in ids]
    for lo in range(0, len(shoppers), batch):
        Token.objects.bulk_create([Token(user_id=s.user_id, key=s.api_token) for s in shoppers[lo : lo + batch]])
    return shoppers


def create_sale(
    *,
    title: str,
    stock: int,
    limit: int,
    preheat: bool = True,
    queue: bool = False,
    admit_per_second: int = 50,
    buckets: int = 1,
) -> FlashSale:
    """A live sale on a SKU of its own (so its stock row and invariants are the sale's alone);
    ``queue``: with its waiting room on, admitting ``admit_per_second``; ``buckets``: its stock
    split over that many hash tags."""
    now = timezone.now()
    with transaction.atomic():
        sku = Sku.objects.create(name=f"Bench phone ({title})", price="999.00")
        Stock.objects.create(sku=sku, total=stock)
        sale = FlashSale.objects.create(
            sku=sku,
            title=title,
            price="199.00",
            quantity=stock,
            per_user_limit=limit,
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(days=1),
            queue_enabled=queue,
            admit_per_second=admit_per_second,
            stock_buckets=buckets,
        )
    if preheat:
        sale_preheat(sale_id=sale.pk)
        sale.refresh_from_db()
    return sale


def create_orders(sale: FlashSale, shoppers: list[Shopper], *, batch: int = 5000) -> list[str]:
    """One pending order per shopper, as the persister writes them; their numbers, in order."""
    now, made = timezone.now(), []
    for lo in range(0, len(shoppers), batch):
        orders = [
            Order(
                reservation_id=reservation_id_new(sale.pk),
                user_id=s.user_id,
                sale=sale,
                quantity=1,
                price=sale.price,
                reserved_at=now,
                expires_at=now + timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT),
            )
            for s in shoppers[lo : lo + batch]
        ]
        Order.objects.bulk_create(orders)
        made += [str(o.number) for o in orders]
    return made


def write_users_file(path: Path, shoppers: list[Shopper]) -> Path:
    path.write_text("".join(f"{s.user_id} {s.api_token}\n" for s in shoppers))
    return path


def issue_purchase_tokens(sale_id: int, shoppers: list[Shopper], path: Path, *, chunk: int = 5000) -> Path:
    """One one-time purchase token per shopper, exactly as ``purchase_token_issue`` makes them
    (``token_sign`` + the nonce in Redis with the TTL), pipelined; written as wrk's data file."""
    ttl, r = settings.FLASHSALE["TOKEN_TTL"], get_redis()
    buckets = sale_bucket_count(sale_id)
    lines = []
    for lo in range(0, len(shoppers), chunk):
        pipe = r.pipeline(transaction=False)
        for s in shoppers[lo : lo + chunk]:
            token, nonce = token_sign(user_id=s.user_id, sale_id=sale_id)
            keys = sale_keys(sale_id, home_bucket(s.user_id, buckets))  # the token lives in the home bucket
            pipe.set(keys.token(s.user_id), nonce, ex=ttl)
            pipe.hincrby(keys.stats, "tokens_issued", 1)
            lines.append(f"{s.user_id} {s.api_token} {token}\n")
        pipe.execute()
    path.write_text("".join(lines))
    return path


def join_queue(sale_id: int, shoppers: list[Shopper], path: Path) -> Path:
    """Each shopper joins the sale's line through the service, in order; their tickets, one a line
    (what a shopper's poll sends back as X-Queue-Ticket), written as wrk's data file."""
    tickets = [queue_join(sale_id=sale_id, user_id=s.user_id).ticket for s in shoppers]
    path.write_text("".join(f"{t}\n" for t in tickets))
    return path


def prefill_stream(sale: FlashSale, shoppers: list[Shopper], n: int, *, chunk: int = 2000) -> tuple[int, float]:
    """n accepted purchases through the real purchase script (token, limit, stock, XADD), pipelined.

    Shoppers take turns, so the sale's per-user limit must allow ceil(n / len(shoppers)).
    No persister is woken: the stream stays full until the measurement starts the drain.
    Returns (accepted, seconds).
    """
    keys, cfg, r = sale_keys(sale.pk), settings.FLASHSALE, get_redis()
    purchase = script("purchase")
    t = time.monotonic()
    accepted = 0
    for lo in range(0, n, chunk):
        pipe = r.pipeline(transaction=False)
        for i in range(lo, min(n, lo + chunk)):
            uid = shoppers[i % len(shoppers)].user_id
            nonce, rid = secrets.token_urlsafe(16), reservation_id_new(sale.pk)
            pipe.set(keys.token(uid), nonce, ex=cfg["TOKEN_TTL"])
            ask = purchase_ask(sale_id=sale.pk, user_id=uid, quantity=1, nonce=nonce, reservation_id=rid)
            script_keys, script_args = purchase_script_arguments(ask)
            purchase(keys=script_keys, args=script_args, client=pipe)
        for answer in pipe.execute()[1::2]:
            accepted += answer[0] == "OK"
    return accepted, time.monotonic() - t
