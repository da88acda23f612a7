"""The coverage form (part of the responsibility matrix page)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from tandem.servicedesk.config.forms import priority_range_choices

# --- Coverage ---------------------------------------------------------------------------------


class CoverageForm(forms.Form):
    """When a party is on duty: a calendar, for one service area or all, up to a priority."""

    party_id = forms.TypedChoiceField(coerce=int, label="Party")
    calendar_id = forms.TypedChoiceField(coerce=int, label="Calendar")
    service_area_id = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Service area"
    )
    max_priority = forms.TypedChoiceField(coerce=int, label="Priorities")

    def __init__(
        self,
        *args: Any,
        parties: Sequence[tuple[int, str]] | None,
        calendars: Sequence[tuple[int, str]],
        areas: Sequence[tuple[int, str]],
        priorities: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if parties is None:
            del self.fields["party_id"]  # whose coverage it is never changes
        else:
            self.fields["party_id"].choices = [("", "Choose a party…"), *parties]  # type: ignore[attr-defined]
        self.fields["calendar_id"].choices = [("", "Choose a calendar…"), *calendars]  # type: ignore[attr-defined]
        self.fields["service_area_id"].choices = [("", "All service areas"), *areas]  # type: ignore[attr-defined]
        self.fields["max_priority"].choices = priority_range_choices(max(priorities, 1))  # type: ignore[attr-defined]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        arguments = {
            "calendar_id": data["calendar_id"],
            "service_area_id": data["service_area_id"],
            "max_priority": data["max_priority"],
        }
        if "party_id" in self.fields:
            arguments["party_id"] = data["party_id"]
        return arguments
