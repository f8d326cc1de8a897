from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from config.metrics import register_collector


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = _("Reconciliation")

    def ready(self):
        from reconciliation.metrics import SaleCollector

        register_collector("reconciliation.sales", SaleCollector)
