"""Password guessing on the admin's and the shop's login pages meets a growing wait, per account
and per client network, without ever locking the operator out."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.backends import ModelBackend
from django.test import Client

from config.redis import get_redis
from tests.factories import UserFactory
from tests.helpers import on_each_redis, real_db

pytestmark = real_db
ADMIN_LOGIN = "/admin/login/"
SHOP_LOGIN = "/login/"


@pytest.fixture
def throttle(settings):
    settings.RATELIMIT_ENABLE = True
    settings.LOGIN_THROTTLE = {
        "FREE_PER_ACCOUNT": 3,
        "FREE_PER_NETWORK": 10,
        "FIRST_DELAY_MS": 5000,  # long enough that no test races a block running out, unless it wants to
        "MAX_DELAY_SECONDS": 20,
        "WINDOW_SECONDS": 900,
    }
    return settings.LOGIN_THROTTLE


def _try(client: Client, path: str, username: str, password: str, ip: str = "198.51.100.7"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _wait_until_unblocked(pattern: str, timeout: float = 5.0) -> None:
    """Probe Redis until no block key matching ``pattern`` is left."""
    deadline = time.monotonic() + timeout
    while any(get_redis().scan_iter(match=pattern)):
        assert time.monotonic() < deadline, f"still blocked: {pattern}"
        time.sleep(0.02)


@pytest.mark.parametrize("path", [ADMIN_LOGIN, SHOP_LOGIN])
def test_guessing_one_account_past_the_free_attempts_meets_a_429_with_retry_after(throttle, path):
    UserFactory(username="ops", is_staff=True)
    client = Client()
    codes = [_try(client, path, "ops", f"guess{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    refused = _try(client, path, "ops", "guess5")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert b"Too many tries" in refused.content


def test_a_waiting_attempt_is_refused_before_the_password_is_checked(throttle, monkeypatch):
    UserFactory(username="ops", is_staff=True)
    client = Client()
    for i in range(4):
        _try(client, ADMIN_LOGIN, "ops", f"guess{i}")
    checked = []
    real = ModelBackend.authenticate
    monkeypatch.setattr(ModelBackend, "authenticate", lambda self, *a, **kw: checked.append(1) or real(self, *a, **kw))
    assert _try(client, ADMIN_LOGIN, "ops", "guess4").status_code == 429
    assert checked == []


def test_the_wait_doubles_with_each_failure_and_stops_at_the_cap(throttle):
    throttle.update(FIRST_DELAY_MS=200, MAX_DELAY_SECONDS=1)
    UserFactory(username="ops", is_staff=True)
    client = Client()
    for i in range(3):
        _try(client, ADMIN_LOGIN, "ops", f"guess{i}")
    waits = []
    for i in range(4):
        _wait_until_unblocked("login:block:{acct:*")
        assert _try(client, ADMIN_LOGIN, "ops", f"more{i}").status_code == 200  # a failure, counted
        block = next(get_redis().scan_iter(match="login:block:{acct:*"))
        waits.append(get_redis().pttl(block))
    assert 100 < waits[0] <= 200
    assert 200 < waits[1] <= 400
    assert 400 < waits[2] <= 800
    assert 800 < waits[3] <= 1000  # the cap: a throttle, never a lockout


@on_each_redis  # its counters' scripts, pipelined, on a cluster too
def test_the_right_password_gets_in_once_the_wait_is_over(throttle):
    throttle.update(FIRST_DELAY_MS=200, MAX_DELAY_SECONDS=1)
    UserFactory(username="ops", password="right-one", is_staff=True)
    client = Client()
    for i in range(4):
        _try(client, ADMIN_LOGIN, "ops", f"guess{i}")
    _wait_until_unblocked("login:block:*")
    assert _try(client, ADMIN_LOGIN, "ops", "right-one").status_code == 302


@on_each_redis  # its counters' scripts, pipelined, on a cluster too
def test_a_browser_that_logged_in_before_gets_in_while_its_account_is_attacked(throttle):
    UserFactory(username="ops", password="right-one", is_staff=True)
    operator = Client()
    assert _try(operator, ADMIN_LOGIN, "ops", "right-one", ip="203.0.113.5").status_code == 302
    operator.post("/admin/logout/")
    attacker = Client()
    codes = [_try(attacker, ADMIN_LOGIN, "ops", f"guess{i}", ip="192.0.2.66").status_code for i in range(6)]
    assert codes[-1] == 429
    assert _try(Client(), ADMIN_LOGIN, "ops", "right-one", ip="203.0.113.5").status_code == 429  # a new browser waits
    assert _try(operator, ADMIN_LOGIN, "ops", "right-one", ip="203.0.113.5").status_code == 302  # a known one does not


def test_many_accounts_guessed_from_one_ipv6_64_count_as_one_client(throttle):
    client = Client()
    for i in range(10):  # ten accounts, ten addresses, one /64
        assert _try(client, SHOP_LOGIN, f"user{i}", "guess", ip=f"2001:db8:1:2::{i + 1:x}").status_code == 200
    assert _try(client, SHOP_LOGIN, "user10", "guess", ip="2001:db8:1:2::ff").status_code == 200  # the 11th fails
    assert _try(client, SHOP_LOGIN, "user11", "guess", ip="2001:db8:1:2:ffff::1").status_code == 429
    assert _try(client, SHOP_LOGIN, "user12", "guess", ip="2001:db8:1:3::1").status_code == 200  # another /64


def test_a_logged_in_shopper_s_admin_login_posts_are_no_success_for_the_account(throttle):
    UserFactory(username="ops", is_staff=True)
    shopper = Client()
    shopper.force_login(UserFactory(username="buyer"))
    shopper.post(ADMIN_LOGIN, {"username": "ops", "password": "guess"}, REMOTE_ADDR="198.51.100.7")
    assert "login_device" not in shopper.cookies


def test_a_unicode_variant_of_a_name_counts_against_the_same_account(throttle):
    UserFactory(username="ops", is_staff=True)
    client = Client()
    for name in ("ops", "ＯＰＳ", "ｏｐｓ", "𝐨𝐩𝐬"):  # NFKC makes each of them 'ops'
        _try(client, ADMIN_LOGIN, name, "guess")
    assert _try(client, ADMIN_LOGIN, "ops", "guess").status_code == 429


def test_an_attack_from_the_operator_s_own_network_does_not_block_a_known_browser(throttle):
    UserFactory(username="ops", password="right-one", is_staff=True)
    operator = Client()
    assert _try(operator, ADMIN_LOGIN, "ops", "right-one").status_code == 302
    operator.post("/admin/logout/")
    attacker = Client()  # the same address: a shared proxy or NAT
    for i in range(12):
        _try(attacker, SHOP_LOGIN, f"user{i}", "guess")
    assert _try(Client(), ADMIN_LOGIN, "ops", "right-one").status_code == 429  # the network waits
    assert _try(operator, ADMIN_LOGIN, "ops", "right-one").status_code == 302  # the known browser does not


def test_a_successful_login_clears_the_account_s_failures(throttle):
    UserFactory(username="ops", password="right-one", is_staff=True)
    client = Client()
    for i in range(3):
        _try(client, ADMIN_LOGIN, "ops", f"guess{i}")
    assert _try(client, ADMIN_LOGIN, "ops", "right-one").status_code == 302
    assert list(get_redis().scan_iter(match="login:fail:{acct:*")) == []
