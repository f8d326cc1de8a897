"""Strict input fields for the API."""

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: refuses true, 1.0, 1.5, "1", "1e3", "0x10", null."""

    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)
