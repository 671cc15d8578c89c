"""Serializer fields shared by the API's input serializers."""

from typing import Any

from rest_framework import serializers

# How many bad list elements a validation error names; the rest are counted.
MAX_REPORTED_ELEMENT_ERRORS = 20


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class BoundedListField(serializers.ListField):
    """A ListField that refuses an over-long list before validating any element, and
    names at most ``MAX_REPORTED_ELEMENT_ERRORS`` bad elements (by index) in its error,
    with a ``more`` entry counting the rest. A hostile list then costs one length check,
    and its error stays a few hundred bytes."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        # ListField turns max_length into a validator (which the schema shows as maxItems),
        # but validators run after every element: it is checked first here as well.
        super().__init__(max_length=max_length, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        result: list[Any] = []
        errors: dict[str, Any] = {}
        bad = 0
        for index, item in enumerate(data):
            try:
                result.append(self.child.run_validation(item))
            except serializers.ValidationError as exc:
                bad += 1
                if bad <= MAX_REPORTED_ELEMENT_ERRORS:
                    errors[str(index)] = exc.detail
        if not bad:
            return result
        if bad > MAX_REPORTED_ELEMENT_ERRORS:
            more = bad - MAX_REPORTED_ELEMENT_ERRORS
            errors["more"] = [f"{more} more invalid elements not listed"]
        raise serializers.ValidationError(errors)


class StrictBooleanField(serializers.BooleanField):
    """true or false, as JSON booleans only (not "true", 1 or "yes")."""

    default_error_messages = {"invalid": "must be true or false"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
