"""Ticketed polls far back in the line, answered from the process's view: the shopper's own ticket
back (re-signed only when old), and a closed line heard as closed."""

from __future__ import annotations

import time

from django.core import signing
from django.test import Client

from config.redis import get_redis
from flashsale import queue
from inventory.redis_schema import sale_keys
from tests.helpers import real_db
from tests.support.queue import queue_sale

pytestmark = real_db


def _poll(sale_id: int, ticket: str) -> dict:
    response = Client().get(f"/api/sales/{sale_id}/queue", HTTP_X_QUEUE_TICKET=ticket)
    assert response.status_code == 200, response.content
    return response.json()


def _far_back(monkeypatch) -> tuple[int, str]:
    """A sale whose line admits one a second, and the ticket of its 50th place."""
    monkeypatch.setattr(queue, "POLL_SNAPSHOT_SECONDS", 3600)  # this process's view of the line stays fresh
    sale = queue_sale(rate=1)
    tickets = [queue.queue_join(sale_id=sale.pk, user_id=user).ticket for user in range(1, 51)]
    _poll(sale.pk, tickets[0])  # a Redis-backed poll: the process now holds a view of the line
    return sale.pk, tickets[-1]


def test_a_poll_far_back_answers_with_the_shoppers_own_ticket(monkeypatch):
    sale_id, ticket = _far_back(monkeypatch)
    assert _poll(sale_id, ticket)["ticket"] == ticket


def test_a_poll_far_back_says_the_place_the_ticket_names(monkeypatch):
    sale_id, ticket = _far_back(monkeypatch)
    assert _poll(sale_id, ticket)["position"] == 50


def test_a_ticket_past_its_refresh_age_comes_back_signed_anew(monkeypatch):
    sale_id, _ticket = _far_back(monkeypatch)
    signed_long_ago = time.time() - queue.TICKET_REFRESH_AGE - 60
    monkeypatch.setattr(signing.time, "time", lambda: signed_long_ago)
    old = queue.ticket_sign(user_id=50, sale_id=sale_id, position=50)
    monkeypatch.undo()
    monkeypatch.setattr(queue, "POLL_SNAPSHOT_SECONDS", 3600)
    renewed = _poll(sale_id, old)["ticket"]
    assert renewed != old
    assert queue.ticket_verify(renewed, sale_id=sale_id).fresh


def test_once_a_poll_hears_the_line_closed_a_poll_far_back_hears_it_too(monkeypatch):
    sale_id, far_back = _far_back(monkeypatch)
    get_redis().hset(sale_keys(sale_id).meta, "ends", 1)  # the sale ended, as far as Redis knows
    front = queue.ticket_sign(user_id=1, sale_id=sale_id, position=None)  # no place named: read from Redis
    assert _poll(sale_id, front)["state"] == "closed"  # the process's view of the line is now closed
    assert _poll(sale_id, far_back)["reason"] == "ended"
