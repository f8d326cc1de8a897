"""The stable error codes of the purchase path (see config.errors for the shape)."""
from config.errors import ApplicationError, ServiceUnavailable


class SoldOut(ApplicationError):
    status, code, message = 409, "sold_out", "This sale is sold out."


class LimitReached(ApplicationError):
    status, code, message = 409, "limit_reached", "You have reached this sale's per-person limit."


class NotLive(ApplicationError):
    status, code, message = 409, "not_live", "This sale is not open for purchases right now."


class BadToken(ApplicationError):
    status, code, message = 403, "bad_token", "The purchase token is invalid, used or expired; get a new one."


class BadCaptcha(ApplicationError):
    status, code, message = 400, "bad_captcha", "The captcha answer is wrong or expired; load a new captcha."


class IdempotencyMismatch(ApplicationError):
    status, code, message = 422, "idempotency_mismatch", "This Idempotency-Key was used with a different request."


class SaleNotFound(ApplicationError):
    status, code, message = 404, "not_found", "No such sale."


class PreheatRefused(ApplicationError):
    status, code, message = 409, "preheat_refused", "The sale is live with reservations in flight; confirm to force."


# What the purchase script's codes mean at the API.
SCRIPT_REFUSALS = {
    "SOLD_OUT": SoldOut,
    "LIMIT": LimitReached,
    "NOT_LIVE": NotLive,
    "BAD_TOKEN": BadToken,
    "MISMATCH": IdempotencyMismatch,
    "NOT_PREHEATED": ServiceUnavailable,
    "INVALID": ApplicationError,
}
