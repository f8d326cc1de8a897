"""Strict input fields for the API: each accepts exactly what the OpenAPI schema says it does."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: refuses true, 1.0, 1.5, "1", "1e3", "0x10", null."""

    default_error_messages = {"invalid": _("A JSON integer is required.")}

    def __init__(self, **kwargs):
        # i18n: the OpenAPI schema's words, for developers
        kwargs.setdefault("help_text", "A JSON integer: 2, never 2.0, true or a string.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string, taken as sent: DRF's CharField also takes 5 or 1.5 (as "5") and trims
    whitespace before it checks blankness and length, which a schema cannot say. Its NUL ban is
    declared by ``config.openapi_fields``."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
