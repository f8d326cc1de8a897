from django.apps import AppConfig


class FlashsaleConfig(AppConfig):
    name = "flashsale"

    def ready(self):
        from config import auth_cache
        from config.metrics import register_collector
        from flashsale import signals
        from flashsale.queue_metrics import QueueCollector

        signals.connect()
        auth_cache.connect()

        register_collector("flashsale.queue", QueueCollector)
