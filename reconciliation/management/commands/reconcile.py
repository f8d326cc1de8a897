from django.core.management.base import BaseCommand

from reconciliation.services import reconcile_all, reconcile_sale


class Command(BaseCommand):
    help = "Compare Redis with the database for one sale (or every preheated sale), repair when safe, record it."

    def add_arguments(self, parser):
        parser.add_argument("sale_id", nargs="?", type=int)

    def handle(self, *args, sale_id=None, **options):
        runs = [reconcile_sale(sale_id=sale_id)] if sale_id else reconcile_all()
        for run in filter(None, runs):
            self.stdout.write(
                f"sale {run.sale_id}: {run.action} — redis {run.redis_stock}, expected {run.expected_stock}, "
                f"drift {run.drift}, db sold {run.db_sold}, in flight {run.in_flight}, "
                f"returns repaired {run.releases_repaired}"
            )
