"""seed_demo's waiting-room flags: the demo sale `make run` seeds has a line a newcomer can see."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from config.redis import get_redis
from flashsale.models import FlashSale
from inventory.redis_schema import QueueField, sale_keys
from tests.helpers import client_for, real_db

pytestmark = [real_db, pytest.mark.usefixtures("no_captcha", "no_rate_limits")]
QUEUE_FLAGS = ["--queue", "--admit-per-second", "7", "--admission-seconds", "30", "--prequeue-seconds", "60"]


def seed(capsys, *flags: str) -> dict:
    call_command("seed_demo", "--users", "1", "--json", *flags)
    return json.loads(capsys.readouterr().out)


def test_the_queue_flags_reach_the_sale_row(capsys):
    out = seed(capsys, *QUEUE_FLAGS)
    sale = FlashSale.objects.using("default").get(pk=out["sale_id"])
    assert (sale.queue_enabled, sale.admit_per_second, sale.admission_seconds, sale.prequeue_seconds) == (
        True,
        7,
        30,
        60,
    )


def test_the_queue_flags_are_preheated_into_redis(capsys):
    out = seed(capsys, *QUEUE_FLAGS)
    line = get_redis().hgetall(sale_keys(out["sale_id"]).queue)
    assert {field: line.get(field) for field in (QueueField.ENABLED, QueueField.ADMIT_PER_SECOND)} == {
        QueueField.ENABLED: "1",
        QueueField.ADMIT_PER_SECOND: "7",
    }


def test_the_json_says_the_sale_has_a_line(capsys):
    assert seed(capsys, "--queue")["queue"] is True


def test_a_seeded_line_refuses_a_token_before_the_shoppers_turn(capsys):
    out = seed(capsys, "--queue")
    shopper = get_user_model().objects.get(username=out["users"][0]["username"])
    refused = client_for(shopper).post(f"/api/sales/{out['sale_id']}/token", {}, format="json")
    assert refused.json()["code"] == "not_admitted"


def test_without_the_flag_the_demo_sale_has_no_line(capsys):
    out = seed(capsys)
    assert FlashSale.objects.using("default").get(pk=out["sale_id"]).queue_enabled is False


def test_an_admission_shorter_than_ten_seconds_is_refused():
    with pytest.raises(CommandError, match="at least 10"):
        call_command("seed_demo", "--queue", "--admission-seconds", "5")
