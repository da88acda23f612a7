"""The form of a responsibility-matrix row. Like every desk form it parses input into the
service's keyword arguments; the service decides what is valid.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from tandem.servicedesk.tickets.forms import _pk, _set_queryset

# --- The responsibility matrix --------------------------------------------------------------


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
