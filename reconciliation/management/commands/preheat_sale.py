from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from flashsale.models import FlashSale
from reconciliation.preheat import sale_preheat


class Command(BaseCommand):
    help = "Preheat a sale's stock into Redis (idempotent; new generation each time)."

    def add_arguments(self, parser):
        parser.add_argument("sale_id", type=int)
        parser.add_argument("--force", action="store_true", help="overwrite a live sale with reservations in flight")
        parser.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")

    def handle(self, *args, sale_id, force, dry_run, **options):
        try:
            plan = sale_preheat(sale_id=sale_id, force=force, dry_run=dry_run)
        except FlashSale.DoesNotExist:
            raise CommandError(f"no sale {sale_id}") from None
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        verb = "would write" if dry_run else "wrote"
        self.stdout.write(
            f"sale {sale_id}: {verb} stock {plan.stock} at generation {plan.generation} "
            f"(DB sold {plan.db_sold}, in flight {plan.inflight}, rebuilt: {plan.rebuild})"
        )
