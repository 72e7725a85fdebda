"""Serializer fields that accept exactly what the OpenAPI schema says, and nothing else.

DRF's stock fields are lenient in ways the schema does not show: ``CharField`` turns
``0`` into ``"0"`` and strips ``" "`` down to a blank it then refuses, ``IntegerField``
takes ``"3"`` and ``3.0``, ``FloatField`` takes ``"0.5"`` and ``true``. A client generated
from the schema, or a fuzzer checking the server against it, then meets a server that
accepts what the schema forbids and refuses what it allows. These fields take JSON's
own types only, and every rule they enforce appears in the schema drf-spectacular
derives from them (``minLength``, ``maxLength``, ``pattern``, ``minimum``, ``maximum``).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.validators import ProhibitNullCharactersValidator, RegexValidator
from rest_framework import serializers

#: PostgreSQL cannot store NUL in text or JSON; a pattern (not DRF's hidden validator)
#: so that the schema says so too.
NO_NUL = RegexValidator(r"^[^\x00]*$", message="Null characters are not allowed.")


class StrictCharField(serializers.CharField):
    """A JSON string, kept as sent (no whitespace trimming), without NUL characters."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]
        self.validators.append(NO_NUL)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not a string of digits, not ``3.0``, not ``true``."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class QueryIntegerField(serializers.IntegerField):
    """An integer in a query string: ASCII digits only, not ``1.0``, `` 1`` or ``+1``."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not re.fullmatch(r"[0-9]+", data):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictFloatField(serializers.FloatField):
    """A JSON number: not a string, not ``true``."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(super().to_internal_value(data))
