# Issue 15: the public order number (UUIDv7). Existing orders get one made from their created_at.

import secrets
import uuid

from django.db import migrations, models

import orders.numbers


def _number_at(ms: int) -> uuid.UUID:
    return uuid.UUID(int=(ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | secrets.randbits(12) << 64 | 0b10 << 62 | secrets.randbits(62))


def backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    db = schema_editor.connection.alias
    for pk, created in Order.objects.using(db).filter(number__isnull=True).values_list("pk", "created_at").iterator():
        Order.objects.using(db).filter(pk=pk).update(number=_number_at(int(created.timestamp() * 1000)))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_reservation_id_bucket"),
    ]

    operations = [
        migrations.AddField(model_name="order", name="number", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="number",
            field=models.UUIDField(default=orders.numbers.order_number_new, editable=False, unique=True),
        ),
    ]
