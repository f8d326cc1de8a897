"""Money as the shop writes it: NT$9,999 for a phone in Taiwan, the project's own format per currency.

Why not the locale's (CLDR's) currency pattern: for TWD in zh-Hant it gives ``$9,999.00``, while a
shop in Taiwan writes ``NT$9,999`` (no decimals). So each currency says here how it is written, per
language where that differs; the pages format with ``format_money`` (the ``money`` template filter),
the sale page's script with the same symbol and decimals (``money_spec``), the API gives the plain
amount with the ``currency`` code beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation


@dataclass(frozen=True)
class Currency:
    code: str  # ISO 4217
    decimals: int  # digits after the point on pages
    symbol: str  # before the amount
    symbols: dict[str, str] | None = None  # a language that writes the symbol otherwise

    def symbol_for(self, language: str | None) -> str:
        return (self.symbols or {}).get(language or "", self.symbol)


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("TWD", 0, "NT$"),
        Currency("CNY", 2, "CN¥", {"zh-hans": "¥"}),
        Currency("HKD", 2, "HK$"),
        Currency("USD", 2, "US$"),
    )
}
DEFAULT_CURRENCY = "TWD"
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]


def currency(code: str) -> Currency:
    """The currency; KeyError for one the shop does not sell in (the model's choices prevent it)."""
    return CURRENCIES[code]


def money_spec(code: str, language: str | None = None) -> dict:
    """What a page's script needs to write an amount as the server does."""
    spec = currency(code)
    return {"symbol": spec.symbol_for(language or translation.get_language()), "decimals": spec.decimals}


def format_money(amount, code: str, language: str | None = None) -> str:
    """``NT$9,999``, ``¥1,234.50``: symbol, thousands grouped by commas, the currency's decimals."""
    if amount is None or amount == "":
        return ""
    spec = currency(code)
    value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-spec.decimals), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}{spec.symbol_for(language or translation.get_language())}{abs(value):,.{spec.decimals}f}"
