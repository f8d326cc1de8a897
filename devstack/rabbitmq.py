"""Is a RabbitMQ broker usable at a given AMQP URL?"""

from __future__ import annotations

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"


def rabbitmq_reachable(url: str = DEFAULT_URL, timeout: float = 2.0) -> bool:
    """True if an AMQP login with `url` succeeds within about `timeout` seconds."""
    from kombu import Connection  # Why lazy: only this probe needs kombu (celery's transport).

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            # Why interval_start=0: kombu's default waits 2 s before its one retry.
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
            return True
    except Exception:  # Refused, timed out, bad login, not AMQP: all mean "not usable".
        return False
