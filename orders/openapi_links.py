"""OpenAPI links: a purchase's journey, token → purchase → reservation → order → pay or cancel.

Each answer names what the next call needs (a purchase token, a reservation id, an order number), and
the links say so in the schema, so a client generator, or a stateful fuzzer such as schemathesis,
can follow a purchase to its order. A drf-spectacular postprocessing hook
(SPECTACULAR_SETTINGS in config/settings.py); operation ids are drf-spectacular's own.
"""

from __future__ import annotations


def _order(operation_id: str, pointer: str) -> dict:
    return {"operationId": operation_id, "parameters": {"number": f"$response.body#{pointer}"}}


def _order_links(pointer: str) -> dict:
    return {
        "Order": _order("orders_retrieve", pointer),
        "OrderHistory": _order("orders_history_list", pointer),
        "PayOrder": _order("orders_pay_create", pointer),
        "CancelOrder": _order("orders_cancel_create", pointer),
    }


LINKS: dict[tuple[str, str], dict] = {
    ("sales_token_create", "200"): {
        "PurchaseWithToken": {
            "operationId": "sales_purchase_create",
            "parameters": {"sale_id": "$request.path.sale_id"},
            "requestBody": {"token": "$response.body#/token"},
        }
    },
    ("sales_purchase_create", "202"): {
        "ReservationStatus": {
            "operationId": "reservations_retrieve",
            "parameters": {"reservation_id": "$response.body#/reservation_id"},
        }
    },
    ("reservations_retrieve", "200"): _order_links("/order_number"),
    ("orders_retrieve", "200"): _order_links("/number"),
    ("orders_pay_create", "200"): _order_links("/number"),
    ("orders_cancel_create", "200"): _order_links("/number"),
}


def add_journey_links(result, generator, request, public):
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for (operation_id, status), links in LINKS.items():
                if operation.get("operationId") == operation_id and status in operation.get("responses", {}):
                    operation["responses"][status]["links"] = links
    return result
