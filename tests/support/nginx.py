"""Debian's nginx running deploy/nginx.conf itself, for a test: only the upstream (compose's
``web:8000``) and the listening port are pointed at the test's own servers."""

from __future__ import annotations

import http.client
import shutil
from pathlib import Path

from devstack import free_port
from tests.support.processes import ROOT, Proc

CONF = ROOT / "deploy" / "nginx.conf"
UPSTREAM_LINE = "server web:8000;"
LISTEN_LINE = "listen 8080;"


def nginx_conf_for(upstream: str, port: int) -> str:
    text = CONF.read_text()
    # Fail loudly if the shipped file no longer has the lines this swaps: the test must run it.
    assert text.count(UPSTREAM_LINE) == 1 and text.count(LISTEN_LINE) == 1, "deploy/nginx.conf changed shape"
    return text.replace(UPSTREAM_LINE, f"server {upstream};").replace(LISTEN_LINE, f"listen 127.0.0.1:{port};")


def start_nginx(tmp: Path, upstream: str) -> tuple[Proc, int]:
    """nginx in the foreground with deploy/nginx.conf, proxying to ``upstream`` (host:port)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    (tmp / "logs").mkdir(exist_ok=True)
    shutil.copy("/etc/nginx/mime.types", tmp / "mime.types")
    (tmp / "nginx.conf").write_text(nginx_conf_for(upstream, port))
    proc = Proc(
        [
            binary,
            "-p",
            str(tmp),
            "-c",
            str(tmp / "nginx.conf"),
            "-g",
            f"daemon off; pid {tmp / 'nginx.pid'}; error_log {tmp / 'logs' / 'error.log'} warn;",
        ],
        tmp / "nginx.log",
        {"PATH": "/usr/sbin:/usr/bin:/bin"},
    )

    def answers() -> bool:
        try:
            return request(port, "GET", "/healthz")[0] == 200
        except OSError:
            return False

    proc.wait_started(answers, 15, "nginx")
    return proc, port


def request(port: int, method: str, path: str, *, source: str = "127.0.0.1", headers: dict | None = None):
    """(status, headers, body) of one request to the gateway, sent from ``source`` (any 127/8 address)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
