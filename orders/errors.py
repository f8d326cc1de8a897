"""The order lifecycle's domain errors (codes, statuses and messages: config.error_codes)."""

from config.errors import ApplicationError


class OrderNotFound(ApplicationError):
    """No such order, or not the caller's (the API answers 404 either way)."""

    code = "not_found"


class OrderClosed(ApplicationError):
    code = "order_closed"


class AlreadyPaid(ApplicationError):
    code = "already_paid"


class NotCancellable(ApplicationError):
    code = "not_cancellable"


class PaymentDeclined(ApplicationError):
    code = "payment_declined"
