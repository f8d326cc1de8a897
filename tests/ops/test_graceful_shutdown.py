"""Graceful shutdown. SIGTERM to the web server under load: every request it had taken gets its
answer (later ones are refused at connect, which a load balancer retries elsewhere). SIGTERM to a
worker mid-batch: the batch commits and is settled, or stays pending to be re-claimed, never half
written."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time

import pytest

from devstack import free_port
from tests.factories import live_sale
from tests.helpers import real_db
from tests.support.processes import BIN, Proc, _env

pytestmark = [real_db, pytest.mark.slow]


def _start_granian(tmp_path) -> tuple[Proc, int]:
    port = free_port()
    argv = [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", "2", "--blocking-threads", "4", "--no-ws", "config.wsgi:application"]
    proc = Proc(argv, tmp_path / "granian.log", _env())

    def answers() -> bool:
        try:
            return _get(port, "/healthz")[0] == 200
        except OSError:
            return False

    proc.wait_started(answers, 30, "granian")
    return proc, port


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Load:
    """Client threads sending requests one after another, each on a new connection, and sorting
    each outcome: answered, refused at connect (the server had stopped listening), or lost (sent
    and never answered: what a graceful shutdown must not do)."""

    def __init__(self, port: int, path: str, threads: int = 12):
        self.port, self.path = port, path
        self.answered: list[int] = []
        self.refused = 0
        self.lost: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            try:
                conn.connect()
            except OSError:
                with self.lock:
                    self.refused += 1
                time.sleep(0.01)
                continue
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                response.read()
                with self.lock:
                    self.answered.append(response.status)
            except ConnectionResetError:
                # The kernel's RST for a connection still in the listen backlog when the server
                # closed its socket: the server never took it (a load balancer retries it). A
                # request the server took and dropped ends as RemoteDisconnected instead.
                with self.lock:
                    self.refused += 1
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.lost.append(repr(exc))
            finally:
                conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(20)


def test_sigterm_to_the_web_server_under_load_answers_every_request_it_took(tmp_path, stack):
    sale = live_sale(quantity=10)
    stack.mariadb.wait_for_replica()  # the server reads the sale on the replica
    proc, port = _start_granian(tmp_path)
    with Load(port, f"/api/sales/{sale.pk}/") as load:
        deadline = time.monotonic() + 20
        while len(load.answered) < 200:  # under load before the signal
            assert time.monotonic() < deadline, proc.tail()
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGTERM)
        exited = proc.popen.wait(20)
        time.sleep(0.2)  # Why: let the clients see the closed port (refused), so none is mid-connect
    assert load.lost == []
    assert exited == 0, proc.tail()
    assert set(load.answered) == {200}
    assert load.refused > 0  # the signal landed while the clients were still sending


def test_sigterm_to_a_worker_mid_batch_commits_or_leaves_the_batch_to_be_reclaimed(tmp_path):
    from bench.seed import create_shoppers, prefill_stream
    from config.db_router import pinned_to_primary
    from inventory.models import Stock
    from orders.models import Order
    from orders.services import reservations_drain
    from orders.tasks import reservations_drain_task
    from tests.helpers import assert_invariants, stream_len
    from tests.support.processes import queues, start_worker

    n = 3000
    sale = live_sale(quantity=n, limit=1)
    with pinned_to_primary():  # the bench's seeding reads back what it wrote
        assert prefill_stream(sale, create_shoppers(n), n)[0] == n
    # Small batches: the drain is many transactions, so the signal lands between or inside one.
    worker = start_worker(
        tmp_path, concurrency=1, name="sigterm", queue_names=[queues()[0]], env={"FLASHSALE_PERSIST_BATCH_SIZE": "50"}
    )
    orders = Order.objects.using("default").filter(sale=sale)
    try:
        reservations_drain_task.delay(sale.pk)
        deadline = time.monotonic() + 30
        while not orders.exists():
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.01)
        os.kill(worker.pid, signal.SIGTERM)  # warm shutdown: the running task may finish
        assert worker.popen.wait(60) == 0, worker.tail()
    finally:
        worker.stop()
    persisted = orders.count()
    assert 0 < persisted
    # Never half: the stock the DB counts sold is exactly its orders, and every accepted purchase is
    # an order or still in the stream (both at once only for a batch committed and not yet settled).
    assert Stock.objects.using("default").get(sku=sale.sku).sold == persisted
    assert persisted + stream_len(sale.pk) >= n
    reservations_drain(sale_id=sale.pk)  # what is left, re-claimed by the next persister
    assert_invariants(sale, accepted_units=n)
