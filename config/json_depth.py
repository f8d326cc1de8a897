"""How deep a JSON document nests, told before parsing it.

The standard library's parser recurses once per nested array or object and raises RecursionError
(a 500) near the interpreter's recursion limit. No request body of this API nests more than a
couple of levels, so anything past ``MAX_JSON_DEPTH`` is refused as invalid input first.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64

_STRING = {
    # A string literal, or an unterminated one up to the end: possessive, so a scan stays linear.
    bytes: re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL),
    str: re.compile(r'"(?:[^"\\]|\\.)*+"?', re.DOTALL),
}
_OPENERS = {bytes: (b"[", b"{"), str: ("[", "{")}
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


def json_too_deep(document: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``document`` nests arrays and objects more than ``limit`` deep (brackets in strings don't count)."""
    kind = type(document)
    opens_list, opens_object = _OPENERS[kind]
    if document.count(opens_list) + document.count(opens_object) <= limit:
        return False  # too few openers to nest that deep: a flat body costs two scans in C and no more
    outside = _STRING[kind].sub(kind(), document)
    if isinstance(outside, str):
        outside = outside.encode("utf-8", "surrogatepass")
    depth = 0
    for bracket in outside.translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in _OPEN else -1
        if depth > limit:
            return True
    return False
