"""Load-test switches: settings that turn a door off, refused in production unless asked for loudly.

With DEBUG off, FLASHSALE_CAPTCHA_REQUIRED=false, RATELIMIT_ENABLE=false, PAYMENT_FAIL_HOOK=true
and PAYMENT_GATEWAY_DECLINE=true stop the process at start, unless ALLOW_LOAD_TEST_SWITCHES=true
is set too, which is logged as an error at every start. The bench and the HTTP and fault tests set it.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("config.switches")


def load_test_switches_check(*, debug: bool, allowed: bool, switched: dict[str, bool]) -> None:
    """``switched``: each switch's environment name -> whether it is in its load-test position."""
    on = sorted(name for name, is_on in switched.items() if is_on)
    if not on or debug:  # development: the switches are fair game
        return
    if not allowed:
        raise ImproperlyConfigured(
            f"{', '.join(on)}: load-test switches are refused with DEBUG off; "
            "set ALLOW_LOAD_TEST_SWITCHES=true to run a load test on purpose"
        )
    logger.error("ALLOW_LOAD_TEST_SWITCHES=true with DEBUG off: %s ON; never do this in production", ", ".join(on))
