"""Prometheus metrics at ``/metrics``: the endpoint, and the registry apps add their collectors to.

Nothing is counted in this process: the apps' collectors read shared state (Redis counters moved
by the Lua scripts and the persister, the database) at scrape time, so any web process reports the
same totals for the whole fleet (in-process prometheus_client counters would each hold a fraction,
and reset on restart). An app registers its collector in its ``AppConfig.ready()``.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from config.errors import error_json

_collectors: dict[str, Callable[[], Collector]] = {}


def register_collector(name: str, factory: Callable[[], Collector]) -> None:
    """Add a collector to every scrape (a factory: each scrape gets a fresh one). Idempotent per name."""
    _collectors[name] = factory


# --- histograms kept in a Redis hash: one HINCRBY per observation -----------------------------------


def bucket_label(value: float, bounds: tuple) -> str:
    """The (non-cumulative) bucket an observation lands in; the scrape accumulates."""
    return floatToGoString(next((b for b in bounds if value <= b), math.inf))


def hash_buckets(fields: dict, prefix: str, bounds: tuple) -> tuple[list[tuple[str, int]], float]:
    """(cumulative buckets, sum) from ``<prefix>:le:<bound>`` counters and ``<prefix>:sum`` in one hash."""
    counts = {float(b): 0 for b in bounds} | {math.inf: 0}
    for field, value in fields.items():
        head, _, bound = field.partition(":le:")
        if head == prefix and bound:
            try:  # bounds from an older deploy are kept as buckets of their own
                counts[float(bound)] = counts.get(float(bound), 0) + int(value)
            except ValueError:
                continue
    buckets, running = [], 0
    for bound in sorted(counts):
        running += counts[bound]
        buckets.append((floatToGoString(bound), running))
    return buckets, float(fields.get(f"{prefix}:sum", 0))


def histogram_from_hash(name: str, doc: str, fields: dict, prefix: str, bounds: tuple) -> HistogramMetricFamily:
    """A histogram from ``<prefix>:le:<bound>`` counters and ``<prefix>:sum`` in one hash."""
    buckets, total = hash_buckets(fields, prefix, bounds)
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=total)


# --- the endpoint -------------------------------------------------------------------------------


def _authorized(request) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return settings.DEBUG  # open only in development: production must set METRICS_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


@require_safe
def metrics(request):
    if not _authorized(request):
        return error_json(
            "not_authenticated",
            "A valid metrics bearer token (METRICS_TOKEN) is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    registry = CollectorRegistry(auto_describe=False)
    for factory in _collectors.values():
        registry.register(factory())
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type, headers={"Cache-Control": "no-store"})
