"""OpenAPI: the one error shape, declared on every operation, with statuses from the code registry.

Every refusal has the same body (``config.errors``), so rather than repeat it on each view, this
hook adds an ``Error`` component and, on each operation, the statuses of the registry's common
codes plus those of the codes the view declares with ``errors_documented(...)``. Each status is
described by the codes that answer it (``409: sold_out, limit_reached, not_live``).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from config import openapi_fields  # noqa: F401 - registers the NUL rule of every CharField input
from config.error_codes import REGISTRY, error_code

CODES_EXTENSION = "x-error-codes"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "A stable machine-readable code, e.g. sold_out."},
        "message": {"type": "string"},
        "details": {"description": "Field errors for code=invalid."},
    },
    "required": ["code", "message"],
}


def errors_documented(*codes: str):
    """Declare the domain codes an operation may answer (each must be registered)."""
    for code in codes:
        error_code(code)
    return extend_schema(extensions={CODES_EXTENSION: list(codes)})


def _by_status(codes) -> dict[str, list[str]]:
    statuses: dict[str, list[str]] = {}
    for code in codes:
        statuses.setdefault(str(error_code(code).status), []).append(code)
    return statuses


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    common = [c.code for c in REGISTRY.values() if c.common]
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            declared = operation.get(CODES_EXTENSION, [])
            for status, codes in _by_status([*declared, *common]).items():
                responses.setdefault(status, {"description": ", ".join(codes), "content": ref})
    return result
