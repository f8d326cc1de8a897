"""Captcha challenges that die after one answer, right or wrong.

django-simple-captcha's own check is get-then-delete, so two simultaneous right answers could
both pass (shared/pitfalls.md). Here the DELETE is the claim: only the caller whose DELETE
removed the row may go on, and it is removed whatever the answer was.
"""

from __future__ import annotations

from captcha.conf import settings as captcha_settings
from captcha.helpers import captcha_image_url
from captcha.models import CaptchaStore
from django.db import transaction
from django.utils import timezone

from config.db_router import pinned_to_primary
from flashsale.errors import BadCaptcha


def captcha_purge_expired() -> int:
    """Delete the challenges nobody answered in time (beat, on the maintenance queue). Returns how many."""
    deleted, _ = CaptchaStore.objects.filter(expiration__lte=timezone.now()).delete()
    return deleted


def captcha_new() -> dict:
    key = CaptchaStore.generate_key()
    return {"key": key, "image_url": captcha_image_url(key)}


def captcha_consume(*, key: str, answer: str) -> None:
    """Raise BadCaptcha unless ``answer`` is right for ``key``; either way the challenge is gone."""
    with pinned_to_primary(), transaction.atomic(using="default"):
        row = CaptchaStore.objects.filter(hashkey=key).values("pk", "response", "expiration").first()
        if row is None:
            raise BadCaptcha()
        # Why: the DELETE is the single-use claim; a concurrent answer deletes 0 rows and loses.
        deleted, _ = CaptchaStore.objects.filter(pk=row["pk"]).delete()
    if deleted != 1 or row["expiration"] <= timezone.now():
        raise BadCaptcha()
    given = (answer or "").strip().lower()
    if captcha_settings.CAPTCHA_TEST_MODE and given == "passed":
        return
    if given != row["response"]:
        raise BadCaptcha()
