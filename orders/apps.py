from django.apps import AppConfig

from config.metrics import register_collector


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from orders.metrics import PersistBatchCollector

        register_collector("orders.persist", PersistBatchCollector)
