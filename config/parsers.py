"""The API's JSON parser: DRF's, with nesting bounded (``config.json_depth``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

from config.json_depth import MAX_JSON_DEPTH, json_too_deep


def too_deep() -> str:
    return _("JSON parse error - nested deeper than %(depth)d levels") % {"depth": MAX_JSON_DEPTH}


def parse_error(exc: Exception) -> str:
    return _("JSON parse error - %(detail)s") % {"detail": exc}  # DRF's own words (and translation)


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, but JSON nested deeper than ``MAX_JSON_DEPTH`` is a 400 ``invalid``, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except ValueError as exc:  # not in the charset the request names
            raise ParseError(parse_error(exc)) from None
        if json_too_deep(text):
            raise ParseError(too_deep())
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(parse_error(exc)) from None
        except RecursionError:  # unreachable past the depth check; kept so a deep document can never be a 500
            raise ParseError(too_deep()) from None
