"""A lean HTTP/1.1 client for storms: one kept-alive connection per thread, JSON in and out.

Why not requests: a storm test's shoppers are threads of one Python process, and requests' own
cost per call (several times http.client's) made the client, not the server, the bottleneck.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

# What a kept-alive connection the server closed while idle raises on its next request: nothing
# of that request reached the app, so it is sent again once on a new connection.
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes

    def json(self):
        return json.loads(self.body)


class KeepAlive:
    def __init__(self, base: str, timeout: float = 30):
        url = urlsplit(base)
        self.host, self.port, self.timeout = url.hostname, url.port, timeout
        self.local = threading.local()
        self.reconnects = 0
        self._count_lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.used = False
        return self.local.conn

    def request(self, method: str, path: str, *, headers: dict | None = None, json_body=None) -> Answer:
        body = json.dumps(json_body).encode() if json_body is not None else b""
        headers = {**(headers or {}), "Content-Length": str(len(body))}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn, reused = self._connection(), self.local.used
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                answer = Answer(response.status, response.read())
                self.local.used = True
                if response.will_close:
                    self._drop()
                return answer
            except STALE:
                self._drop()
                if not reused or attempt == 2:
                    raise
                with self._count_lock:  # why the lock: the count is shared by every thread
                    self.reconnects += 1
            except (OSError, http.client.HTTPException):
                self._drop()
                raise
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        self.local.conn.close()
        self.local.conn = None
