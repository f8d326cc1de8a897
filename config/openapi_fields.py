"""OpenAPI: what DRF's input fields refuse beyond what drf-spectacular's default mapping says.

DRF's ``CharField`` (and every subclass) refuses a string holding a NUL character, but the
default schema of a string says nothing about it, so a client (or a fuzzer) reading the schema
sends valid-looking input that is refused. Every CharField in a request therefore declares a
pattern without NUL, unless its own pattern says more (``RegexField``, ``SlugField``).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

# One or more characters, none of them NUL. Not ``*``: for a field that allows blank, drf-spectacular
# adds "" as a ``oneOf`` branch of its own, and a ``oneOf`` that "" matched twice would refuse it.
NO_NUL_PATTERN = "^[^\\u0000]+$"


class CharFieldRequestSchema(OpenApiSerializerFieldExtension):
    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        own = [v.regex.pattern for v in self.target.validators if isinstance(v, RegexValidator)]
        if own:  # a RegexField (a cursor): its own pattern, which excludes NUL already
            schema["pattern"] = own[0]
        elif direction == "request" and schema.get("type") == "string" and "pattern" not in schema:
            schema["pattern"] = NO_NUL_PATTERN
        return schema
