"""The client's IP: REMOTE_ADDR, or X-Forwarded-For only when the peer is a trusted proxy.

The leftmost X-Forwarded-For entry is whatever the client wrote; only the entries appended by
proxies we trust mean anything. So walk the header from the right, skipping trusted proxies,
and take the first address that is not one.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings


@functools.cache
def _trusted(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _trusted(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    if not settings.TRUSTED_PROXIES or not _is_trusted(remote):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop):
            return hop
    return remote
