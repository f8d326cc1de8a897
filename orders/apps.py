from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from config.metrics import register_collector


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from orders.metrics import PersistBatchCollector

        register_collector("orders.persist", PersistBatchCollector)
