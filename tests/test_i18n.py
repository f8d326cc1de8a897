"""The shop in its languages: zh-hant first, zh-hans and en; money, shop time, the per-language page cache."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from config.money import format_money
from orders.services import reservations_drain
from tests.factories import SaleFactory, UserFactory, live_sale
from tests.helpers import buy, client_for, real_db

pytestmark = real_db
ROOT = Path(__file__).resolve().parents[1]
CATALOGS = sorted(ROOT.glob("locale/zh_Han[st]/LC_MESSAGES/*.po"))
LANG = re.compile(r'<html lang="([^"]+)"')
TW, CN, EN = "zh-TW,zh;q=0.9", "zh-CN,zh;q=0.9", "en-US,en;q=0.8"


@pytest.fixture
def replicated(stack):
    return stack.mariadb.wait_for_replica


def page(path: str, accept: str | None = None, client: Client | None = None) -> str:
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    return (client or Client()).get(path, **headers).content.decode()


# --- the catalogs ------------------------------------------------------------------------------


def test_there_are_both_chinese_catalogs_for_the_templates_and_the_scripts():
    assert [p.relative_to(ROOT).as_posix() for p in CATALOGS] == [
        "locale/zh_Hans/LC_MESSAGES/django.po",
        "locale/zh_Hans/LC_MESSAGES/djangojs.po",
        "locale/zh_Hant/LC_MESSAGES/django.po",
        "locale/zh_Hant/LC_MESSAGES/djangojs.po",
    ]


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: f"{p.parts[-3]}-{p.stem}")
def test_a_chinese_catalog_has_nothing_untranslated_or_fuzzy(catalog):
    stats = (
        subprocess.run(
            ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(catalog)],
            capture_output=True,
            text=True,
            check=True,
        )
        .stderr.strip()
        .splitlines()[-1]
    )
    assert re.fullmatch(r"\d+ translated messages?\.", stats), stats


# --- choosing the language ---------------------------------------------------------------------


def test_with_nothing_set_the_default_language_is_traditional_chinese():
    env = {k: v for k, v in os.environ.items() if k != "LANGUAGE_CODE"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.LANGUAGE_CODE)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "zh-hant"


def test_a_visitor_without_accept_language_gets_the_default_language(replicated, settings):
    settings.LANGUAGE_CODE = "zh-hant"
    html = page("/sales/")
    assert LANG.search(html).group(1) == "zh-hant"
    assert "限時搶購" in html


@pytest.mark.parametrize(("accept", "lang"), [(TW, "zh-hant"), ("zh-HK", "zh-hant"), (CN, "zh-hans"), (EN, "en")])
def test_the_language_comes_from_accept_language(replicated, accept, lang):
    assert LANG.search(page("/sales/", accept)).group(1) == lang


def test_an_answer_names_its_language_and_varies_by_accept_language():
    response = APIClient().get("/api/sales/", HTTP_ACCEPT_LANGUAGE=CN)
    assert (response["Content-Language"], "Accept-Language" in response["Vary"]) == ("zh-hans", True)


def test_a_chosen_language_is_remembered_by_cookie_over_accept_language(replicated):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/sales/"}, HTTP_ACCEPT_LANGUAGE=EN)
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert LANG.search(page("/sales/", EN, client)).group(1) == "zh-hans"


def test_every_page_offers_the_language_switch(replicated):
    sale = live_sale()
    replicated()
    for path in ("/sales/", f"/sales/{sale.pk}/", "/login/", "/sales/999999/"):
        html = page(path, TW)
        assert 'action="/i18n/setlang/"' in html, path
        assert all(f'value="{code}"' in html for code, _ in settings.LANGUAGES), path


# --- the pages -----------------------------------------------------------------------------------


def test_the_page_cache_never_serves_english_to_a_zh_hant_visitor(replicated):
    sale = live_sale(title="Cache test")
    replicated()
    assert "Buy now" in page(f"/sales/{sale.pk}/", EN)  # cached in English first
    zh = page(f"/sales/{sale.pk}/", TW)
    assert "立即購買" in zh
    assert "Buy now" not in zh


def test_the_page_cache_never_serves_zh_hant_to_an_english_visitor(replicated):
    sale = live_sale(title="Cache test")
    replicated()
    assert "立即購買" in page(f"/sales/{sale.pk}/", TW)  # cached in Traditional Chinese first
    en = page(f"/sales/{sale.pk}/", EN)
    assert "Buy now" in en
    assert "立即購買" not in en


def test_the_zh_hans_page_uses_simplified_forms(replicated):
    sale = live_sale(quantity=3)
    replicated()
    html = page(f"/sales/{sale.pk}/", CN)
    assert "立即购买" in html
    assert "購買" not in html
    assert "請輸入圖中的字元" not in html
    assert "请输入图中的字符" in html


def test_the_sale_page_shows_the_price_as_nt_dollars(replicated):
    sale = live_sale(price="9999")
    replicated()
    html = page(f"/sales/{sale.pk}/", TW)
    assert '<strong id="price">NT$9,999</strong>' in html
    assert 'data-money-symbol="NT$" data-money-decimals="0"' in html


def test_the_sale_page_shows_times_in_the_shops_zone_and_language(replicated):
    start = datetime(2030, 12, 1, 12, 0, tzinfo=UTC)
    sale = SaleFactory(state="scheduled", starts_at=start, ends_at=start + timedelta(hours=2))
    replicated()
    assert "2030年12月1日 20:00:00" in page(f"/sales/{sale.pk}/", TW)  # Asia/Taipei is UTC+8


def test_the_shops_zone_is_a_setting(replicated, settings):
    settings.SHOP_TIME_ZONE = "Asia/Tokyo"
    start = datetime(2030, 12, 1, 12, 0, tzinfo=UTC)
    sale = SaleFactory(state="scheduled", starts_at=start, ends_at=start + timedelta(hours=2))
    replicated()
    assert "1 Dec 2030, 21:00:00" in page(f"/sales/{sale.pk}/", EN)


def test_the_scripts_words_are_a_script_file_per_language():
    response = Client().get("/jsi18n/zh-hant.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert '"Buy now": "\\u7acb\\u5373\\u8cfc\\u8cb7"' in response.content.decode()  # 立即購買, JSON-escaped
    assert "public" in response["Cache-Control"]


def test_an_unknown_language_has_no_script_catalog():
    assert Client().get("/jsi18n/xx.js").status_code == 404


@pytest.mark.usefixtures("no_captcha")
def test_my_orders_is_in_the_visitors_language(replicated):
    sale = live_sale(price="9999")
    shopper = UserFactory()
    assert buy(client_for(shopper), sale.pk).status_code == 202
    reservations_drain(sale_id=sale.pk)
    client = Client()
    client.force_login(shopper)
    html = page("/orders/", TW, client)
    assert "待付款" in html
    assert "付款 NT$9,999" in html


def test_the_admin_labels_are_translated(replicated):
    SaleFactory()
    staff = UserFactory(username="ops-zh", is_staff=True)
    staff.user_permissions.add(*Permission.objects.using("default").filter(codename="view_flashsale"))
    client = Client()
    client.force_login(staff)
    html = page("/admin/flashsale/flashsale/", TW, client)
    assert "限時搶購" in html
    assert "每人限購" in html


# --- the API -------------------------------------------------------------------------------------


def _sold_out_refusal(accept: str) -> dict:
    sale = live_sale(quantity=1)
    first, second = UserFactory(), UserFactory()
    assert buy(client_for(first), sale.pk).status_code == 202
    client = client_for(second)
    client.credentials(HTTP_ACCEPT_LANGUAGE=accept)
    response = buy(client, sale.pk)
    assert response.status_code == 409
    return response.json()


@pytest.mark.usefixtures("no_captcha")
@pytest.mark.parametrize(
    ("accept", "message"), [(TW, "本場搶購已售完。"), (CN, "本场抢购已售罄。"), (EN, "This sale is sold out.")]
)
def test_a_refusal_has_a_translated_message_and_the_same_code(accept, message):
    body = _sold_out_refusal(accept)
    assert (body["code"], body["message"]) == ("sold_out", message)


def test_a_drf_refusal_is_translated_too():
    client = APIClient()
    client.force_authenticate(UserFactory())
    body = client.get("/api/orders/999999/", HTTP_ACCEPT_LANGUAGE=CN).json()
    assert body == {"code": "not_found", "message": "未找到指定的资源。"}


def test_a_field_error_of_the_purchase_is_translated():
    sale = live_sale()
    response = APIClient().post(
        f"/api/sales/{sale.pk}/purchase", {"quantity": 1}, format="json", HTTP_ACCEPT_LANGUAGE=TW
    )
    assert response.json()["details"] == {"token": ["此欄位為必填。"]}


def test_the_sale_api_gives_the_currency_beside_the_price():
    sale = live_sale(price="9999")
    body = APIClient().get(f"/api/sales/{sale.pk}/").json()
    assert (body["price"], body["currency"]) == ("9999.00", "TWD")


# --- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "code", "language", "text"),
    [
        ("9999", "TWD", "zh-hant", "NT$9,999"),
        ("9999.00", "TWD", "en", "NT$9,999"),
        ("1234.5", "CNY", "zh-hans", "¥1,234.50"),
        ("1234.5", "CNY", "zh-hant", "CN¥1,234.50"),
        ("1000000", "USD", "en", "US$1,000,000.00"),
    ],
)
def test_money_is_written_in_the_projects_own_format(amount, code, language, text):
    assert format_money(amount, code, language) == text


def test_the_catalogs_hold_every_marked_string_of_the_code(tmp_path):
    """``make messages`` on a copy of the code changes no catalog: nothing marked waits to be extracted."""
    for name in ("config", "inventory", "flashsale", "orders", "reconciliation", "templates", "static", "locale"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    (tmp_path / "scripts").mkdir()
    for name in ("manage.py", "scripts/messages.sh"):
        shutil.copy2(ROOT / name, tmp_path / name)
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", "scripts/messages.sh"], cwd=tmp_path, env=env, capture_output=True, check=False)
    stale = [
        p.relative_to(ROOT).as_posix()
        for p in CATALOGS
        if (tmp_path / p.relative_to(ROOT)).read_bytes() != p.read_bytes()
    ]
    assert stale == [], "run `make messages` and translate what it adds"
