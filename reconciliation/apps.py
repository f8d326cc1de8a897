from django.apps import AppConfig

from config.metrics import register_collector


class ReconciliationConfig(AppConfig):
    name = "reconciliation"

    def ready(self):
        from reconciliation.metrics import SaleCollector

        register_collector("reconciliation.sales", SaleCollector)
