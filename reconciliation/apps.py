from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"

    def ready(self):
        from config.metrics import register_collector
        from reconciliation.metrics import SaleCollector

        register_collector("reconciliation.sales", SaleCollector)
