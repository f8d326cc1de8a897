"""OpenAPI post-processing: the one error shape, declared on every operation.

Every refusal has the same body (``config.errors``), so rather than repeat it on each view, this
hook adds an ``Error`` component and the error statuses an operation can answer.
"""
from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "A stable machine-readable code, e.g. sold_out."},
        "message": {"type": "string"},
        "details": {"description": "Field errors for code=invalid."},
    },
    "required": ["code", "message"],
}
COMMON = {
    "400": "Invalid input (code=invalid)",
    "401": "Not authenticated",
    "403": "Forbidden (bad_token, CSRF, permission)",
    "404": "Not found, or not yours",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "413": "Body too large",
    "415": "Unsupported media type",
    "429": "Rate limited (Retry-After header)",
    "500": "Internal error (never expected; still in the error shape)",
    "503": "Redis or the sale unavailable (sale_unavailable)",
}
BY_PATH = {
    "/purchase": {"409": "sold_out, limit_reached or not_live", "422": "idempotency_mismatch"},
    "/pay": {"402": "payment_declined", "409": "order_closed or already_paid"},
    "/cancel": {"409": "not_cancellable"},
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        extra = next((codes for suffix, codes in BY_PATH.items() if path.endswith(suffix)), {})
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in {**COMMON, **extra}.items():
                responses.setdefault(status, {"description": description, "content": ref})
    return result
