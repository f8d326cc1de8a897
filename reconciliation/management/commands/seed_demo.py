import argparse
import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from flashsale.models import FlashSale
from inventory.models import Sku, Stock
from inventory.redis_schema import MAX_BUCKETS
from reconciliation.preheat import sale_preheat

DEMO_PASSWORD = "flash-demo"


def at_least(minimum: int, maximum: int | None = None):
    """An argparse type: an integer no smaller than ``minimum`` (and no larger than ``maximum``:
    the sale's CHECK constraints)."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}")
        return value

    parse.__name__ = f"integer >= {minimum}" if maximum is None else f"integer {minimum}-{maximum}"
    return parse


class Command(BaseCommand):
    help = "Create a demo sale (preheated) and shopper accounts with API tokens."

    def add_arguments(self, parser):
        parser.add_argument("--stock", type=int, default=100)
        parser.add_argument("--limit", type=int, default=1)
        parser.add_argument("--users", type=int, default=5)
        parser.add_argument("--starts-in", type=int, default=0, help="seconds until the sale opens")
        parser.add_argument("--duration", type=int, default=86400, help="seconds the sale stays open")
        parser.add_argument("--price", default="199.00")
        parser.add_argument("--queue", action="store_true", help="shoppers line up in a waiting room first")
        parser.add_argument("--admit-per-second", type=at_least(1), default=50, help="shoppers admitted a second")
        parser.add_argument("--admission-seconds", type=at_least(10), default=120, help="how long a turn lasts")
        parser.add_argument(
            "--prequeue-seconds", type=at_least(0), default=600, help="how long before the start the line opens"
        )
        parser.add_argument(
            "--buckets",
            type=at_least(1, MAX_BUCKETS),
            default=1,
            help="split the stock over this many Redis hash tags (a hot sale over several cluster masters)",
        )
        parser.add_argument("--json", action="store_true", help="print only JSON with the sale id and the users")

    def handle(self, *args, **o):
        now = timezone.now()
        with transaction.atomic():
            sku = Sku.objects.create(name="Demo phone", price="999.00", description="A phone, at a flash price.")
            Stock.objects.create(sku=sku, total=o["stock"])
            sale = FlashSale.objects.create(
                sku=sku,
                title=f"Demo phone flash sale ({o['stock']} units)",
                price=o["price"],
                quantity=o["stock"],
                per_user_limit=o["limit"],
                starts_at=now + timedelta(seconds=o["starts_in"]),
                ends_at=now + timedelta(seconds=o["starts_in"] + o["duration"]),
                queue_enabled=o["queue"],
                admit_per_second=o["admit_per_second"],
                admission_seconds=o["admission_seconds"],
                prequeue_seconds=o["prequeue_seconds"],
                stock_buckets=o["buckets"],
            )
            users = self._shoppers(o["users"])
        sale_preheat(sale_id=sale.pk)
        if o["json"]:
            self.stdout.write(json.dumps({"sale_id": sale.pk, "users": users, "queue": o["queue"]}))
            return
        self.stdout.write(
            f"Demo sale {sale.pk}: {o['stock']} units, limit {o['limit']}, opens {sale.starts_at:%H:%M:%S} UTC"
        )
        if o["queue"]:
            self.stdout.write(f"  {queue_line(o)}")
        if o["buckets"] > 1:
            self.stdout.write(f"  stock split over {o['buckets']} buckets (hash tags)")
        for u in users[:5]:
            self.stdout.write(f"  shopper {u['username']} / {u['password']}  (API token {u['token']})")
        if len(users) > 5:
            self.stdout.write(f"  … and {len(users) - 5} more (same password)")

    def _shoppers(self, n: int) -> list[dict]:
        User = get_user_model()
        names = [f"shopper{i}" for i in range(1, n + 1)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        hashed = make_password(
            DEMO_PASSWORD
        )  # hashed once: hashing per user would take minutes for a crowd of shoppers
        User.objects.bulk_create([User(username=name, password=hashed) for name in names if name not in existing])
        User.objects.filter(username__in=existing).update(password=hashed)
        users = list(User.objects.filter(username__in=names).order_by("id"))
        have = set(Token.objects.filter(user__in=users).values_list("user_id", flat=True))
        Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users if u.pk not in have])
        tokens = dict(Token.objects.filter(user__in=users).values_list("user_id", "key"))
        return [{"username": u.username, "password": DEMO_PASSWORD, "token": tokens[u.pk]} for u in users]


def queue_line(o: dict) -> str:
    return (
        f"waiting room on: opens {o['prequeue_seconds']} s before the start, admits {o['admit_per_second']} a second,"
        f" {o['admission_seconds']} s to buy"
    )
