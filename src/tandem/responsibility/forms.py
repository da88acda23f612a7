"""The forms of the responsibility matrix page: a row, and a coverage entry. Each parses
input into the service's keyword arguments; the service decides what is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.db.models import QuerySet


def _pk(value: Any) -> int | None:
    return value.pk if value is not None else None


def _set_queryset(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    cast(forms.ModelChoiceField, form.fields[name]).queryset = queryset  # type: ignore[type-arg]


def priority_range_choices(count: int) -> list[tuple[int, str]]:
    """``[(1, "P1 only"), (2, "P1 to P2"), ...]`` for a matrix of ``count`` priorities."""
    return [(n, "P1 only" if n == 1 else f"P1 to P{n}") for n in range(1, count + 1)]


# --- A row ------------------------------------------------------------------------------------


class MatrixRowForm(forms.Form):
    service_area_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Service area",
        empty_label="Choose a service area…",
    )
    site_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Only at site",
        empty_label="Every site",
    )
    asset_group_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Only for asset group",
        empty_label="Every asset group",
    )
    responsible_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Responsible (R)",
        empty_label="Choose a party…",
        help_text="Gets the tickets.",
    )
    accountable_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Accountable (A)",
        empty_label="Choose a party…",
        help_text="Answers for the outcome; preferred for urgent tickets out of hours.",
    )
    consulted_ids: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Consulted (C)",
        widget=forms.CheckboxSelectMultiple,
    )
    informed_ids: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Informed (I)",
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(required=False, max_length=500)

    def __init__(
        self,
        *args: Any,
        service_areas: QuerySet[Any],
        sites: QuerySet[Any],
        asset_groups: QuerySet[Any],
        parties: QuerySet[Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "service_area_id", service_areas)
        _set_queryset(self, "site_id", sites)
        _set_queryset(self, "asset_group_id", asset_groups)
        for name in ("responsible_id", "accountable_id", "consulted_ids", "informed_ids"):
            _set_queryset(self, name, parties)

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "service_area_id": data["service_area_id"].pk,
            "site_id": _pk(data["site_id"]),
            "asset_group_id": _pk(data["asset_group_id"]),
            "responsible_id": data["responsible_id"].pk,
            "accountable_id": data["accountable_id"].pk,
            "consulted_ids": [p.pk for p in data["consulted_ids"]],
            "informed_ids": [p.pk for p in data["informed_ids"]],
            "note": data["note"],
        }


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
