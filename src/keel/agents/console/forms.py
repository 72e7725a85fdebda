"""A Django form for an agent's input, built from the agent's input serializer.

The serializer stays the one authority on what an agent accepts: the form only gives
each field a labelled control of the right kind (with the serializer's bounds as HTML
attributes) and turns the submitted text into the JSON types the strict serializer
fields expect. The run is then validated by ``services.run_create`` like any API call,
and its errors are put back on the form's fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import serializers

#: A CharField longer than this gets a text area rather than a one-line input.
TEXTAREA_ABOVE = 200


def _label(name: str, field: serializers.Field[Any, Any, Any, Any]) -> str:
    return str(field.label) if field.label else name.replace("_", " ").capitalize()


def _common(name: str, field: serializers.Field[Any, Any, Any, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "label": _label(name, field),
        "required": field.required,
        "help_text": str(field.help_text or ""),
    }
    if field.default is not serializers.empty and not callable(field.default):
        options["initial"] = field.default
    return options


def form_field(name: str, field: serializers.Field[Any, Any, Any, Any]) -> forms.Field | None:
    """Return the form field for one serializer field, or None for one the form skips.

    A field the console cannot render (a nested serializer, a list, a JSON field) is
    skipped when it is optional and refused when it is required: the caller reports it.
    """
    options = _common(name, field)
    if isinstance(field, serializers.BooleanField):
        options["required"] = False  # an unticked box is False, not missing
        return forms.BooleanField(**options)
    if isinstance(field, serializers.ChoiceField):
        return forms.ChoiceField(choices=list(field.choices.items()), **options)
    if isinstance(field, serializers.IntegerField):
        return forms.IntegerField(min_value=field.min_value, max_value=field.max_value, **options)
    if isinstance(field, serializers.FloatField):
        number = forms.FloatField(min_value=field.min_value, max_value=field.max_value, **options)
        number.widget.attrs["step"] = "any"
        return number
    if isinstance(field, serializers.CharField):
        long_text = field.max_length is None or field.max_length > TEXTAREA_ABOVE
        return forms.CharField(
            max_length=field.max_length,
            min_length=field.min_length,
            # Kept as typed: the serializer decides about whitespace, as for the API.
            strip=False,
            widget=forms.Textarea(attrs={"rows": 4}) if long_text else forms.TextInput(),
            **options,
        )
    return None


class UnrenderableInput(Exception):
    """An agent's input has a required field the console has no control for."""


def input_form_class(serializer_class: type[serializers.Serializer[Any]]) -> type[forms.Form]:
    """Return a form class with one control per field of ``serializer_class``."""
    fields: dict[str, forms.Field] = {}
    for name, field in serializer_class().fields.items():
        if field.read_only:
            continue
        control = form_field(name, field)
        if control is None:
            if field.required:
                raise UnrenderableInput(
                    f"the console has no control for the required field {name!r} "
                    f"({type(field).__name__}); start this agent through the API"
                )
            continue
        fields[name] = control
    return type(f"{serializer_class.__name__}Form", (forms.Form,), fields)


def run_input(form: forms.Form) -> dict[str, Any]:
    """The agent input a valid ``form`` stands for: blank optional fields left out.

    Left out rather than sent empty, so that the serializer applies its own default.
    """
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if not (value in (None, "") and not form.fields[name].required)
    }
