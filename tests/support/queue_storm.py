"""The machinery of a storm through the waiting room: shoppers as due times on a heap, played by
a bounded pool of threads over kept-alive HTTP, and the server's admission times read from Redis.

A shopper joins, polls when ``poll_after_ms`` says, and buys (token, then purchase) once admitted;
one told to come back in 5 s costs nothing until then.
"""

from __future__ import annotations

import heapq
import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass

from config.redis import get_redis
from inventory.redis_schema import sale_keys
from tests.support.keepalive import Answer, KeepAlive


@dataclass
class Shopper:
    key: str
    user_id: int
    ticket: str = ""
    position: int | None = None
    admitted_at: float | None = None  # wall clock (the host's, as Redis's): the answer "admitted" arrived
    token_at: float | None = None  # wall clock: the token request left
    bought_at: float | None = None  # wall clock: the 202 arrived
    answered_at: float | None = None  # wall clock: the last answer of the token-and-purchase arrived
    outcome: str = ""

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Token {self.key}"}


class AdmissionLog:
    """When the server admitted each user (Redis's clock), read from the admitted set as it fills."""

    def __init__(self, sale_id: int, admission_seconds: int):
        self.key, self.admitted_ms, self.admission_ms = sale_keys(sale_id).queue_admitted, {}, admission_seconds * 1000
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        r = get_redis()
        # Why every 50 ms: an admission stays in the set for the admission's seconds, so none is missed.
        while not self.stop.wait(0.05):
            for user, until_ms in r.zrange(self.key, 0, -1, withscores=True):
                self.admitted_ms.setdefault(int(user), until_ms - self.admission_ms)

    def __enter__(self) -> AdmissionLog:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


class Storm:
    """Shoppers on a heap of due times, played by a bounded pool of threads."""

    def __init__(self, base: str, sale_id: int, shoppers: list[Shopper], *, threads: int, admission_seconds: int):
        self.http, self.sale_id, self.shoppers, self.threads = KeepAlive(base), sale_id, shoppers, threads
        self.heap: list[tuple[float, int]] = []
        self.cond = threading.Condition()
        self.pending = 0
        self.statuses: Counter = Counter()
        self.poll_latencies: list[float] = []
        self.deadline = 0.0
        self.log = AdmissionLog(sale_id, admission_seconds)

    def call(self, kind: str, method: str, path: str, *, headers: dict | None = None, json=None) -> Answer:
        response = self.http.request(method, path, headers=headers, json_body=json)
        with self.cond:  # why the lock: the counter is shared by every thread
            self.statuses[f"{kind}:{response.status_code}"] += 1
        return response

    def schedule(self, index: int, after_ms: int) -> None:
        with self.cond:  # why the lock: the heap is shared; a sleeping thread is told of the new time
            heapq.heappush(self.heap, (time.monotonic() + after_ms / 1000, index))
            self.cond.notify()

    def _done(self) -> None:
        with self.cond:  # why the lock: the count of shoppers still in play is shared
            self.pending -= 1
            self.cond.notify_all()

    def _next(self) -> int | None:
        with self.cond:
            while self.pending > 0 and time.monotonic() < self.deadline:
                if self.heap and self.heap[0][0] <= time.monotonic():
                    return heapq.heappop(self.heap)[1]
                wake = self.heap[0][0] if self.heap else self.deadline
                # Why wait: nobody is due; sleep until the earliest due time (or a new one is pushed).
                self.cond.wait(timeout=max(0.0, min(wake, self.deadline) - time.monotonic()))
            return None

    def _step(self, index: int) -> None:
        shopper = self.shoppers[index]
        started = time.monotonic()
        polled = self.call(
            "poll", "GET", f"/api/sales/{self.sale_id}/queue", headers={"X-Queue-Ticket": shopper.ticket}
        )
        self.poll_latencies.append(time.monotonic() - started)
        if polled.status_code != 200:
            shopper.outcome = f"poll:{polled.status_code}"
            return self._done()
        place = polled.json()
        shopper.ticket = place["ticket"]
        shopper.position = place["position"] if place["position"] is not None else shopper.position
        if place["state"] == "admitted":
            shopper.admitted_at = time.time()
            self._buy(shopper)
            return self._done()
        if place["state"] in ("waiting", "prequeue"):
            return self.schedule(index, place["poll_after_ms"])
        shopper.answered_at, shopper.outcome = time.time(), place["reason"] or place["state"]  # closed, or lapsed
        self._done()

    def _buy(self, shopper: Shopper) -> None:
        auth = shopper.auth
        shopper.token_at = time.time()
        token = self.call("token", "POST", f"/api/sales/{self.sale_id}/token", json={}, headers=auth)
        if token.status_code != 200:
            shopper.answered_at, shopper.outcome = time.time(), token.json().get("code", f"token:{token.status_code}")
            return
        bought = self.call(
            "purchase",
            "POST",
            f"/api/sales/{self.sale_id}/purchase",
            json={"token": token.json()["token"], "quantity": 1},
            headers=auth,
        )
        shopper.answered_at = time.time()
        if bought.status_code == 202:
            shopper.bought_at, shopper.outcome = shopper.answered_at, "bought"
        else:
            shopper.outcome = bought.json().get("code", f"purchase:{bought.status_code}")

    def _worker(self) -> None:
        while (index := self._next()) is not None:
            try:
                self._step(index)
            except (OSError, http.client.HTTPException, ValueError) as exc:  # no answer, or not JSON: counted
                with self.cond:  # why the lock: the counter is shared by every thread
                    self.statuses[f"error:{type(exc).__name__}"] += 1
                self.shoppers[index].outcome = f"error:{type(exc).__name__}"
                self._done()

    def run(self, first_poll_ms: dict[int, int], seconds: float) -> None:
        self.pending = len(first_poll_ms)
        self.deadline = time.monotonic() + seconds
        for index, after_ms in first_poll_ms.items():
            self.schedule(index, after_ms)
        threads = [threading.Thread(target=self._worker) for _ in range(self.threads)]
        with self.log:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
