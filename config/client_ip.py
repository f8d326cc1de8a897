"""The client's IP: REMOTE_ADDR, or X-Forwarded-For only when the peer is a trusted proxy; and the
bucket a rate limit counts it in.

The leftmost X-Forwarded-For entry is whatever the client wrote; only the entries appended by
proxies we trust mean anything. So walk the header from the right, skipping trusted proxies,
and take the first address that is not one.

Addresses are normalised before they are used: an IPv4-mapped IPv6 address (``::ffff:1.2.3.4``)
is the IPv4 address, and a port (``1.2.3.4:5678``, ``[2001:db8::1]:443``) is dropped. A rate limit
counts IPv6 by its /64: one subscriber gets a whole /64, so counting each address would give one
client 2^64 buckets.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings

IPV6_BUCKET_PREFIX = 64


@functools.cache
def _trusted(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def parse_ip(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``raw`` (with or without a port, IPv4-mapped unwrapped), or None."""
    text = raw.strip()
    if text.startswith("["):  # [v6]:port
        if "]" not in text:
            return None
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_trusted(address: str) -> bool:
    ip = parse_ip(address)
    return ip is not None and any(ip in net for net in _trusted(tuple(settings.TRUSTED_PROXIES)))


def is_trusted_proxy(address: str) -> bool:
    """Whether ``address`` (a peer's REMOTE_ADDR) is one of TRUSTED_PROXIES."""
    return bool(settings.TRUSTED_PROXIES) and _is_trusted(address)


def client_ip(request) -> str:
    """The client's address, normalised ('' if there is none that parses)."""
    remote = request.META.get("REMOTE_ADDR", "")
    chosen = remote
    if settings.TRUSTED_PROXIES and _is_trusted(remote):
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        chosen = next((hop for hop in reversed(hops) if not _is_trusted(hop)), remote)
    ip = parse_ip(chosen)
    return str(ip) if ip is not None else ""


def rate_bucket(address: str) -> str:
    """What a per-IP rate limit counts: the IPv4 address, or the IPv6 address's /64."""
    ip = parse_ip(address)
    if ip is None:
        return "-"
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/{IPV6_BUCKET_PREFIX}", strict=False))
    return str(ip)


def client_rate_bucket(request) -> str:
    return rate_bucket(client_ip(request))
