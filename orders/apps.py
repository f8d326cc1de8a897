from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from config.metrics import register_collector
        from orders.metrics import PersistBatchCollector

        register_collector("orders.persist", PersistBatchCollector)
