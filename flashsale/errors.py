"""The purchase path's domain errors (codes, statuses and messages: config.error_codes)."""

from django.utils.translation import gettext_lazy as _

from config.errors import ApplicationError, ServiceUnavailable


class SoldOut(ApplicationError):
    code = "sold_out"


class LimitReached(ApplicationError):
    code = "limit_reached"


class NotLive(ApplicationError):
    code = "not_live"


class BadToken(ApplicationError):
    code = "bad_token"


class BadCaptcha(ApplicationError):
    code = "bad_captcha"


class IdempotencyMismatch(ApplicationError):
    code = "idempotency_mismatch"


class SaleNotFound(ApplicationError):
    code = "not_found"

    def __init__(self):
        super().__init__(_("No such sale."))


class SaleNotPreheated(ApplicationError):
    code = "not_preheated"

    def __init__(self):
        super().__init__(_("Preheat the sale before pausing or resuming it."))


class NotAdmitted(ApplicationError):
    code = "not_admitted"


class NotInQueue(ApplicationError):
    code = "not_in_queue"


class QueueNotOpen(ApplicationError):
    code = "queue_not_open"

    def __init__(self, opens_at_ms: int):
        super().__init__(details={"opens_at_ms": opens_at_ms})


# What the purchase script's codes mean at the API.
SCRIPT_REFUSALS = {
    "SOLD_OUT": SoldOut,
    "LIMIT": LimitReached,
    "NOT_LIVE": NotLive,
    "BAD_TOKEN": BadToken,
    "MISMATCH": IdempotencyMismatch,
    "NOT_PREHEATED": ServiceUnavailable,
    "NO_REPLICAS": ServiceUnavailable,  # the sale's Redis master has fewer replicas than REDIS_REPLICA_ACKS
    "NOT_REPLICATED": ServiceUnavailable,  # too few replicas confirmed it in time: taken back
    "INVALID": ApplicationError,
}
