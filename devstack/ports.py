"""Pick free TCP ports on localhost and wait for one to accept connections."""

from __future__ import annotations

import contextlib
import socket
import time

HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Return `count` distinct free ports.

    Why hold every socket until all are picked: the kernel may hand the
    same port out again as soon as the first probe socket closes.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until host:port accepts a TCP connection; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{host}:{port} not accepting connections after {timeout}s") from exc
            time.sleep(0.05)
