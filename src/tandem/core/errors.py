"""Errors that services raise and every interface (API, pages, CLI) turns into a clear answer."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class InvalidInput(Exception):
    """The input is malformed or contradictory; nothing was written. HTTP 422."""

    def __init__(self, field_errors: dict[str, list[str]] | str) -> None:
        if isinstance(field_errors, str):
            field_errors = {"__all__": [field_errors]}
        self.field_errors = field_errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts: list[str] = []
        for name, messages in self.field_errors.items():
            prefix = "" if name == "__all__" else f"{name}: "
            parts.extend(prefix + m for m in messages)
        return "; ".join(parts)

    @property
    def in_words(self) -> str:
        """The messages alone, as sentences for a person (no field names, no brackets):
        what a page shows when the error belongs to no form field."""
        return " ".join(m for messages in self.field_errors.values() for m in messages)


class Refused(PermissionDenied):
    """The caller may not do this, for a reason it is told (HTTP 403 with the message).

    Plain ``PermissionDenied`` answers a generic 403, because its reason may name what the
    caller cannot see; raise this one only when the message reveals nothing but the rule.
    """


class Conflict(Exception):
    """The write collides with existing data (a duplicate name, a finished state). HTTP 409."""


def require(condition: bool, field: str, message: str) -> None:
    """Raise :class:`InvalidInput` for ``field`` unless ``condition`` holds."""
    if not condition:
        raise InvalidInput({field: [message]})
