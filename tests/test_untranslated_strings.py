"""No English a shopper or operator reads is left outside the catalogs (locale/).

Three scans, each of the project's own files: the templates' text and visible attributes outside
``{% translate %}`` / ``{% blocktranslate %}``; the scripts' string literals outside ``gettext``,
``ngettext`` and friends; and the Python strings that look like prose outside the gettext family.
What people never read is exempt, and each exemption is written down here with its reason
(``EXEMPT_*``), or marked in Python with ``# i18n: <why>`` on the string's line or the line above.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.template.base import Lexer, TokenType
from rest_framework.exceptions import APIException

from config.errors import ApplicationError

ROOT = Path(__file__).resolve().parents[1]
APPS = ("config", "inventory", "flashsale", "orders", "reconciliation")
WORDS = re.compile(r"[A-Za-z]{2,}")
PROSE = re.compile(r"[A-Za-z]{2,}[,.:;!?']?\s+[A-Za-z(]{2,}")  # two words: a phrase, not an identifier

# --- templates ---------------------------------------------------------------------------------
# What a visitor reads or hears beside the text: alternatives, tooltips, labels, a button's value.
VISIBLE_ATTRIBUTES = re.compile(
    r'\b(?:alt|title|aria-label|placeholder)="([^"]*)"|<input\b[^>]*\btype="(?:submit|button)"[^>]*\bvalue="([^"]*)"'
)
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


def _visible_source(path: Path) -> str:
    """The template with every tag and variable blanked, and translate blocks and comments removed
    (newlines kept, so line numbers still match)."""
    out, skip_until = [], None
    for token in Lexer(path.read_text(encoding="utf-8")).tokenize():
        content = token.contents.strip()
        blank = "\x00" + "\n" * token.contents.count("\n")
        if token.token_type == TokenType.BLOCK:
            name = content.split()[0] if content else ""
            if skip_until and name in skip_until:
                skip_until = None if name.startswith("end") else skip_until
            elif name in ("blocktranslate", "blocktrans"):
                skip_until = ("plural", "endblocktranslate", "endblocktrans")
            elif name == "comment":
                skip_until = ("endcomment",)
            out.append(blank)
        elif skip_until or token.token_type != TokenType.TEXT:
            out.append(blank)
        else:
            out.append(token.contents)
    return "".join(out)


def _template_texts(path: Path):
    """(line, text) of what a visitor could read that is not translated: text and visible attributes."""
    source = re.sub(
        r"<(script|style)\b.*?</\1>", lambda m: "\n" * m.group(0).count("\n"), _visible_source(path), flags=re.S
    )
    for match in VISIBLE_ATTRIBUTES.finditer(source):
        value = match.group(1) or match.group(2) or ""
        if WORDS.search(value):
            yield source.count("\n", 0, match.start()) + 1, value
    text = ENTITY.sub(" ", TAG.sub(lambda m: "\n" * m.group(0).count("\n"), source))
    for number, line in enumerate(text.split("\n"), start=1):
        if WORDS.search(line):
            yield number, " ".join(line.replace("\x00", " ").split())


TEMPLATES = sorted(p for p in (ROOT / "templates").rglob("*") if p.suffix in (".html", ".txt", ".svg"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.relative_to(ROOT / "templates").as_posix())
def test_a_template_has_no_untranslated_text(path):
    assert list(_template_texts(path)) == []


# --- scripts -----------------------------------------------------------------------------------
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
COMMENT = re.compile(r"/\*.*?\*/|(?<![:\\])//[^\n]*", re.S)
TRANSLATED = re.compile(r"\b(?:n|p|np)?gettext\(\s*(?:" + STRING.pattern + r")(?:\s*,\s*(?:" + STRING.pattern + r"))?")
# Capitalised single words that are protocol, not prose: HTTP header names; and the strict-mode directive.
EXEMPT_SCRIPT_WORDS = {"Accept", "Date", "use strict"}
CLASS_LIST = re.compile(r"(?:[a-z0-9]+(?:[-_][a-z0-9]*)+|[a-z0-9]+)(?: (?:[a-z0-9]+(?:[-_][a-z0-9]*)+|[a-z0-9]+))*")


def _script_literals(path: Path):
    code = TRANSLATED.sub("gettext()", COMMENT.sub("", path.read_text(encoding="utf-8")))
    for match in STRING.finditer(code):
        text = match.group(0)[1:-1]
        if text in EXEMPT_SCRIPT_WORDS or (CLASS_LIST.fullmatch(text) and "-" in text):
            continue  # CSS class names ("status tone-"), not words
        if PROSE.search(text) or (re.fullmatch(r"[A-Z][a-z]+[.!…]?", text) and text not in EXEMPT_SCRIPT_WORDS):
            yield text


SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_script_has_no_untranslated_words(path):
    assert list(_script_literals(path)) == []


# --- Python ------------------------------------------------------------------------------------
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy", "gettext_noop"}
LOGGING = {"debug", "info", "warning", "error", "exception", "critical", "warn"}
# What an API client or a form shows: their words must be translated. Any other exception's words are for
# developers and logs (a visitor sees the generic 404 or 500 page).
PEOPLES_ERRORS = (ApplicationError, APIException, ValidationError)
# The same, by name, where the module cannot be imported to look the class up.
DEVELOPER_ERRORS = {
    "ImproperlyConfigured", "ValueError", "TypeError", "RuntimeError", "KeyError", "LookupError", "AssertionError",
    "NotImplementedError", "Http404", "CommandError", "ArgumentTypeError", "ScriptError", "RedisError",
}  # fmt: skip
EXEMPT_FILES = {
    "config/settings.py": "settings and their comments: for whoever deploys the shop",
    "config/env.py": "refusals of a bad setting at start: for whoever deploys the shop",
    "config/openapi.py": "the OpenAPI schema's descriptions: for developers of REST clients, in English",
    "config/openapi_fields.py": "the OpenAPI schema's descriptions: for developers of REST clients, in English",
    "orders/openapi_links.py": "the OpenAPI schema's links: for developers of REST clients, in English",
    "config/health.py": "readiness answers: read by probes and load balancers, not people",
    "config/metrics.py": "metric help texts and the scrape refusal: read by Prometheus, not people",
    "flashsale/queue_metrics.py": "metric help texts: read by Prometheus, not people",
    "orders/metrics.py": "metric help texts: read by Prometheus, not people",
    "reconciliation/metrics.py": "metric help texts: read by Prometheus, not people",
}
# The OpenAPI schema's words (help_text, description of serializer fields and schema parameters): for
# developers of REST clients, in English like the API's codes.
SCHEMA_CALLS = {"extend_schema", "OpenApiParameter", "inline_serializer", "StrictCharField", "StrictIntegerField"}
# The operator's audit trail (config/audit.py, the admin's history): a record in English, like the logs
# and the reconciler's runs, that tests and tools read back word for word.
RECORD_CALLS = {"audit_record"}
SQL = re.compile(r"\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH)\b")
EXEMPT_DIRS = {
    "migrations": "migrations freeze the English source strings; the labels are translated from the models",
    "management": "management commands: the operator's command line, in English like the logs",
}


def _python_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in EXEMPT_FILES and not set(path.relative_to(ROOT).parts) & EXEMPT_DIRS.keys():
                yield path


def _name(node) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _for_developers(module, node) -> bool:
    """Whether ``raise <node>`` raises an exception whose words no visitor reads."""
    target = node.func if isinstance(node, ast.Call) else node
    path, found = [], target
    while isinstance(found, ast.Attribute):
        path.insert(0, found.attr)
        found = found.value
    if not isinstance(found, ast.Name) or module is None:
        return _name(target) in DEVELOPER_ERRORS
    cls = getattr(module, found.id, None)
    for attr in path:
        cls = getattr(cls, attr, None)
    if not isinstance(cls, type):
        return _name(target) in DEVELOPER_ERRORS
    return issubclass(cls, BaseException) and not issubclass(cls, PEOPLES_ERRORS)


class _Prose(ast.NodeVisitor):
    def __init__(self, lines: list[str], module=None):
        self.lines, self.found, self.exempt, self.module = lines, [], 0, module

    def _docstring(self, node):
        body = getattr(node, "body", None)
        docstring = (
            body[0] if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else None
        )
        for child in ast.iter_child_nodes(node):
            if child is not docstring:
                self.visit(child)

    visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _docstring

    def exempt_node(self, node):
        self.exempt += 1
        self.generic_visit(node)
        self.exempt -= 1

    def visit_Call(self, node):
        name = _name(node.func)
        is_log = name in LOGGING and _name(getattr(node.func, "value", None)) in ("logger", "logging", "log")
        if name in GETTEXT or is_log or name in RECORD_CALLS:
            return self.exempt_node(node)
        is_schema = name in SCHEMA_CALLS or _name(getattr(node.func, "value", None)) == "serializers"
        for child in ast.iter_child_nodes(node):
            schema_words = isinstance(child, ast.keyword) and child.arg in ("help_text", "description")
            (self.exempt_node if is_schema and schema_words else self.visit)(child)

    def visit_Raise(self, node):
        (self.exempt_node if node.exc is not None and _for_developers(self.module, node.exc) else self.generic_visit)(
            node
        )

    def visit_Assert(self, node):
        self.exempt_node(node)

    def visit_Constant(self, node):
        self._check(node, node.value if isinstance(node.value, str) else "")

    def visit_JoinedStr(self, node):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        self._check(node, " x ".join(parts))

    def _check(self, node, text: str):
        # Marked where it is: "# i18n: <why>" on the string's line or alone on the line above.
        line, above = self.lines[node.lineno - 1], self.lines[node.lineno - 2] if node.lineno > 1 else ""
        if self.exempt or "# i18n:" in line or above.strip().startswith("# i18n:") or SQL.match(text):
            return
        if not PROSE.search(re.sub(r"%\(\w+\)[sd]|\{[^}]*\}", " ", text)):
            return
        self.found.append(f"{node.lineno}: {text[:80]!r}")


@pytest.mark.parametrize("path", list(_python_files()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_has_no_untranslated_prose(path):
    source = path.read_text(encoding="utf-8")
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    finder = _Prose(source.splitlines(), importlib.import_module(dotted.removesuffix(".__init__")))
    finder.visit(ast.parse(source))
    assert finder.found == []
