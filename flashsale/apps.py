from django.apps import AppConfig


class FlashsaleConfig(AppConfig):
    name = "flashsale"

    def ready(self):
        from config.metrics import register_collector
        from flashsale.queue_metrics import QueueCollector

        register_collector("flashsale.queue", QueueCollector)
