"""Stable error codes of the operator's actions (codes and statuses: config.error_codes)."""

from config.errors import ApplicationError


class PreheatRefused(ApplicationError):
    code = "preheat_refused"


class PreheatBusy(ApplicationError):
    code = "preheat_busy"


class RebucketRefused(ApplicationError):
    code = "rebucket_refused"
