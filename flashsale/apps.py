from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlashsaleConfig(AppConfig):
    name = "flashsale"
    verbose_name = _("Flash sales")

    def ready(self):
        from config.metrics import register_collector
        from flashsale.queue_metrics import QueueCollector

        register_collector("flashsale.queue", QueueCollector)
