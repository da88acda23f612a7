"""Forms of the tenancy pages. They parse input into the services' keyword arguments; the
services decide what is valid (and their errors are shown on the matching fields)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.db.models import QuerySet

from tandem.core.widgets import DateInput
from tandem.tenancy.choices import ENGAGEMENT_ACTIONS


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def _pks(rows: Any) -> list[int]:
    return [row.pk for row in rows or ()]


class TenantSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    time_zone = forms.ChoiceField(
        choices=time_zone_choices, help_text="Used for dates, SLAs and reports."
    )
    country = forms.CharField(
        max_length=2, required=False, help_text="Two-letter ISO code, e.g. DE."
    )
    require_mfa = forms.BooleanField(
        required=False, label="Everyone with access to this tenant must use a second factor"
    )


class TenantCreateForm(TenantSettingsForm):
    slug = forms.CharField(max_length=60, help_text="Lower-case letters, digits and hyphens.")
    owner_email = forms.EmailField(
        required=False,
        label="Owner's e-mail",
        help_text=(
            "Becomes the tenant owner; someone new sets a password via “Forgot your password?”."
        ),
    )
    field_order = ["name", "slug", "time_zone", "country", "require_mfa", "owner_email"]


class ProviderCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=60, help_text="Lower-case letters, digits and hyphens.")
    require_mfa = forms.BooleanField(required=False, label="Its staff must use a second factor")


class EngagementScopeForm(forms.Form):
    """What an engagement covers and when. Empty sites and asset groups mean the whole tenant."""

    service_area_ids: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Service areas",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one service area."},
    )
    site_ids: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Sites",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every site.",
    )
    asset_group_ids: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Asset groups",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every asset group (at the chosen sites).",
    )
    allowed_actions = forms.MultipleChoiceField(
        choices=list(ENGAGEMENT_ACTIONS.items()),
        label="Allowed actions",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    starts_on = forms.DateField(label="Starts on", widget=DateInput())
    ends_on = forms.DateField(
        label="Ends on",
        required=False,
        widget=DateInput(),
        help_text="Leave empty for an open-ended mandate.",
    )

    def __init__(
        self,
        *args: Any,
        service_areas: QuerySet[Any],
        sites: QuerySet[Any],
        asset_groups: QuerySet[Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_area_ids"].queryset = service_areas  # type: ignore[attr-defined]
        self.fields["site_ids"].queryset = sites  # type: ignore[attr-defined]
        self.fields["asset_group_ids"].queryset = asset_groups  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The end date is before the start date.")
        return cleaned

    def scope_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "service_area_ids": _pks(data["service_area_ids"]),
            "site_ids": _pks(data["site_ids"]),
            "asset_group_ids": _pks(data["asset_group_ids"]),
            "allowed_actions": list(data["allowed_actions"]),
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
        }


class EngagementGrantForm(EngagementScopeForm):
    provider_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Provider",
        empty_label="Choose a provider…",
        # Providers that already have an engagement here that has not ended are not offered.
        error_messages={
            "invalid_choice": "Choose one of the providers offered: this one already has an "
            "engagement here that has not ended (rescope that one instead), or is not active."
        },
    )
    name = forms.CharField(max_length=200, help_text="For example “Managed desk and patching”.")
    field_order = ["provider_id", "name"]

    def __init__(self, *args: Any, providers: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider_id"].queryset = providers  # type: ignore[attr-defined]


class StatusChangeForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit log and shown to the provider.",
    )


class SiteForm(forms.Form):
    name = forms.CharField(max_length=120)
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    time_zone = forms.ChoiceField(
        required=False,
        choices=lambda: [("", "Same as the tenant")] + time_zone_choices(),
    )


class AssetGroupForm(forms.Form):
    name = forms.CharField(max_length=120)
    site_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Site",
        required=False,
        empty_label="No particular site",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, sites: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site_id"].queryset = sites  # type: ignore[attr-defined]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        site = data["site_id"]
        return {
            "name": data["name"],
            "site_id": site.pk if site else None,
            "description": data["description"],
        }


class ServiceAreaCreateForm(forms.Form):
    key = forms.CharField(max_length=60, help_text="Short id, e.g. erp-support.")
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ServiceAreaEditForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(required=False, label="In use")
