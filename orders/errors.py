"""Stable error codes of the order lifecycle."""
from config.errors import ApplicationError


class OrderClosed(ApplicationError):
    status, code, message = 409, "order_closed", "This order is cancelled or expired; it can no longer be paid."


class AlreadyPaid(ApplicationError):
    status, code, message = 409, "already_paid", "This order is already paid."


class NotCancellable(ApplicationError):
    status, code, message = 409, "not_cancellable", "Only an order awaiting payment can be cancelled."


class PaymentDeclined(ApplicationError):
    status, code, message = 402, "payment_declined", "The payment was declined; the order still awaits payment."
