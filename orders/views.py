"""The shopper's "my orders" page: pages of their orders (the first one cached, read-your-writes
aware), each with its history, a pay button and a cancel button while it awaits payment."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from config.errors import ApplicationError
from flashsale import pages
from flashsale.selectors import sale_get_cached
from orders import read_cache, selectors
from orders.apis import order_data
from orders.models import OrderStatus

ORDERS_SHOWN = 20
FAILURE_TEXT = {
    "out_of_stock": "The last units went to other shoppers before your order was written.",
    "unknown_user": "Your account could not be found when the order was written.",
}


def _page(user_id: int, cursor: str | None) -> selectors.Page:
    if not cursor:
        first = read_cache.first_page(user_id=user_id, size=ORDERS_SHOWN, render=order_data)
        return selectors.Page(first["results"], first["next_cursor"], None)
    page = selectors.orders_page_for_user(user_id=user_id, size=ORDERS_SHOWN, cursor=cursor)
    return selectors.Page([order_data(o) for o in page.items], page.next_cursor, page.previous_cursor)


def _shown(order: dict, history: list[dict]) -> dict:
    sale = sale_get_cached(sale_id=order["sale_id"])
    return {
        **order,
        "status_label": OrderStatus(order["status"]).label,
        "sale_title": sale.title if sale is not None else "",
        "expires": parse_datetime(order["expires_at"]) if order["expires_at"] else None,
        "reason_text": FAILURE_TEXT.get(order["failure_reason"], "The order could not be created."),
        "history": history,
    }


@require_safe
@login_required
@ensure_csrf_cookie  # the cancel and pay buttons send the cookie's token as X-CSRFToken
def my_orders(request):
    try:
        page = _page(request.user.id, request.GET.get("cursor"))
    except ApplicationError:  # a cursor that is not one: start from the newest
        page = _page(request.user.id, None)
    histories = selectors.histories_for_user(user_id=request.user.id, numbers=[o["number"] for o in page.items])
    orders = [_shown(o, histories.get(o["number"], [])) for o in page.items]
    return render(
        request,
        "orders/orders.html",
        {
            "orders": orders,
            "next_cursor": page.next_cursor,
            "previous_cursor": page.previous_cursor,
            "auth": "1",
            "server_now": pages.server_now_ms(),
            "pay_available": pages.pay_available(),
            "awaiting": OrderStatus.PENDING_PAYMENT,
        },
    )
