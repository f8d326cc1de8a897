"""Keyset (cursor) pagination on one unique column, newest first.

A cursor is opaque to clients (URL-safe base64 of a direction and a column value): it names the
last row a page showed, so a page is one indexed query (``WHERE col < x ORDER BY col DESC LIMIT
n + 1``) however deep the walk goes, and rows added meanwhile at the head never shift it (no
duplicate, no gap). Ordered by a public column (the order number, a sale's id), a cursor tells
nothing a client does not already see.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import QuerySet
from rest_framework import serializers

from config.errors import ApplicationError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None
    previous_cursor: str | None


def _encode(direction: str, value) -> str:
    raw = json.dumps([direction, str(value)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class NoSuchPage(ApplicationError):
    """A cursor we did not make: it points at no page (404, as for any unknown resource)."""

    code = "not_found"

    def __init__(self):
        super().__init__("No such page: send a cursor from a `next` or `previous` link.")


def cursor_decode(cursor: str) -> tuple[str, str]:
    """("after" | "before", value); NoSuchPage for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, value = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise NoSuchPage() from None
    if direction not in ("after", "before") or not isinstance(value, str) or len(value) > 64:
        raise NoSuchPage()
    return direction, value


CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"  # URL-safe base64 without padding, as _encode writes it


def cursor_field():
    """The ``cursor`` query parameter: its alphabet in the schema, its meaning checked on use."""
    return serializers.RegexField(
        CURSOR_PATTERN, required=False, max_length=200, help_text="from a `next` or `previous` link"
    )


def query_validated(serializer_class, request) -> dict:
    """The query's parameters through ``serializer_class``. A declared parameter sent empty
    (``?cursor=``) is refused: DRF would silently take it as absent, which the schema does not say."""
    empty = [name for name in serializer_class().fields if request.query_params.get(name) == ""]
    if empty:
        raise ApplicationError(details={name: ["This field may not be blank."] for name in empty})
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def keyset_page(qs: QuerySet, *, column: str, size: int, cursor: str | None, parse=str) -> Page:
    """One page of ``qs``, newest (largest ``column``) first; ``parse`` turns a cursor's value back
    into the column's type (ValueError: an invalid cursor)."""
    direction, at = cursor_decode(cursor) if cursor else ("after", None)
    try:
        at = parse(at) if at is not None else None
    except ValueError:
        raise NoSuchPage() from None
    if direction == "after":
        rows = list((qs.filter(**{f"{column}__lt": at}) if at is not None else qs).order_by(f"-{column}")[: size + 1])
        more, items = len(rows) > size, rows[:size]
        behind = at is not None  # we came from a page before this one
    else:
        rows = list(qs.filter(**{f"{column}__gt": at}).order_by(column)[: size + 1])
        behind, items = len(rows) > size, rows[:size][::-1]
        more = True  # we came back from a page after this one
    return Page(
        items,
        _encode("after", _key(items[-1], column)) if items and more else None,
        _encode("before", _key(items[0], column)) if items and behind else None,
    )


def _key(row, column: str):
    return row[column] if isinstance(row, dict) else getattr(row, column)


def page_links(request, page: Page, **params) -> dict:
    """``next`` and ``previous`` as absolute URLs keeping this request's other parameters."""

    def link(cursor):
        if cursor is None:
            return None
        query = {k: v for k, v in {**request.GET.dict(), **params}.items() if k != "cursor" and v is not None}
        return request.build_absolute_uri(f"{request.path}?{urlencode({**query, 'cursor': cursor})}")

    return {"next": link(page.next_cursor), "previous": link(page.previous_cursor)}
