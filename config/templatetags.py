"""Template filters every page may use (a builtin library, settings TEMPLATES): money and the shop's time.

Times are stored in UTC and shown in the shop's zone (SHOP_TIME_ZONE) in the active language's
format (config/formats/), whatever the visitor's own zone is.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from config.money import format_money, money_spec

register = template.Library()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def shop_zone() -> ZoneInfo:
    return _zone(settings.SHOP_TIME_ZONE)


@register.filter
def money(amount, currency_code: str) -> str:
    """``{{ sale.price|money:sale.currency }}`` -> NT$9,999."""
    return format_money(amount, currency_code)


@register.filter
def money_symbol(currency_code: str) -> str:
    return money_spec(currency_code)["symbol"]


@register.filter
def money_decimals(currency_code: str) -> int:
    return money_spec(currency_code)["decimals"]


@register.filter
def shop_time(value, fmt: str = "DATETIME_FORMAT") -> str:
    """``{{ sale.starts_at|shop_time }}`` (with seconds and year) or ``|shop_time:"SHORT_DATETIME_FORMAT"``."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value, shop_zone()), fmt)


@register.simple_tag
def shop_time_zone() -> str:
    return settings.SHOP_TIME_ZONE
