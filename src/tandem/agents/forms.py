"""The enrolment-token form of the tenant's page."""

from __future__ import annotations

from typing import Any

from django import forms


class EnrolmentTokenForm(forms.Form):
    name = forms.CharField(max_length=200)
    expires_in_days = forms.IntegerField(min_value=1, max_value=365, initial=7)
    max_uses = forms.IntegerField(min_value=1, max_value=1_000_000, required=False)
    site = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    asset_group = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(
        self,
        *args: Any,
        sites: list[tuple[int, str]],
        asset_groups: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "Any (the agent may name one)"), *sites]  # type: ignore[attr-defined]
        self.fields["asset_group"].choices = [("", "None"), *asset_groups]  # type: ignore[attr-defined]
