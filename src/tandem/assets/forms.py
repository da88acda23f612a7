"""The device pages' forms: the list's filters and a device's changes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from tandem.assets.choices import AlertDevices, DeviceStatus, OsFamily
from tandem.assets.queries import OFFLINE, ONLINE, ORDERINGS, DeviceFilter
from tandem.core.validation import parse_id

_ANY = [("", "Any")]


def _choose(field: forms.Field, choices: list[tuple[str, str]]) -> None:
    """Set a choice field's choices (the reader's sites and groups, read per request)."""
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class DeviceFilterForm(forms.Form):
    """The device list's filters, read from the query string (bad values are ignored, as
    the desk's queue filters are: a list page never fails on its query string)."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    site = forms.ChoiceField(required=False, label="Site")
    asset_group = forms.ChoiceField(required=False, label="Asset group")
    os_family = forms.ChoiceField(required=False, label="OS", choices=_ANY + OsFamily.choices)
    connectivity = forms.ChoiceField(
        required=False,
        label="State",
        choices=_ANY + [(ONLINE, "Online"), (OFFLINE, "Offline")],
    )
    protected = forms.ChoiceField(
        required=False,
        label="Protected",
        choices=_ANY + [("yes", "Protected"), ("no", "Not protected")],
    )
    status = forms.ChoiceField(
        required=False, label="Status", choices=DeviceStatus.choices, initial=DeviceStatus.ACTIVE
    )
    ordering = forms.ChoiceField(
        required=False,
        label="Order",
        choices=[("last_seen", "Last seen"), ("name", "Name")],
    )

    def __init__(
        self,
        *args: Any,
        sites: QuerySet[Any] | None = None,
        groups: QuerySet[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if sites is None:
            # The cross-tenant list: sites and groups are each tenant's own.
            del self.fields["site"]
            del self.fields["asset_group"]
        else:
            _choose(self.fields["site"], _ANY + [(str(s.pk), s.name) for s in sites])
            _choose(self.fields["asset_group"], _ANY + [(str(g.pk), g.name) for g in groups or []])

    def filters(self, tenant_id: int | None = None) -> DeviceFilter:
        """What the list is narrowed to; an invalid field counts as not given."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        protected = {"yes": True, "no": False}.get(data.get("protected") or "")
        ordering = data.get("ordering") or "last_seen"
        return DeviceFilter(
            q=data.get("q") or "",
            tenant_id=tenant_id,
            site_id=parse_id(data.get("site") or None),
            asset_group_id=parse_id(data.get("asset_group") or None),
            os_family=data.get("os_family") or "",
            connectivity=data.get("connectivity") or "",
            protected=protected,
            status=data.get("status") or DeviceStatus.ACTIVE,
            ordering=ordering if ordering in ORDERINGS else "last_seen",
        )


class DeviceForm(forms.Form):
    """A device's name, placement and (for the tenant's own IT) protection."""

    name = forms.CharField(max_length=200)
    site_id = forms.ChoiceField(required=False, label="Site")
    asset_group_id = forms.ChoiceField(required=False, label="Asset group")
    protected = forms.BooleanField(
        required=False,
        label="Protected: jobs on this device need the approval of the party accountable for it",
    )

    def __init__(
        self,
        *args: Any,
        sites: QuerySet[Any],
        groups: QuerySet[Any],
        may_protect: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choose(self.fields["site_id"], [("", "No site")] + [(str(s.pk), s.name) for s in sites])
        _choose(
            self.fields["asset_group_id"],
            [("", "No asset group")] + [(str(g.pk), g.name) for g in groups],
        )
        if not may_protect:
            del self.fields["protected"]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "name": data["name"],
            "site_id": parse_id(data["site_id"] or None),
            "asset_group_id": parse_id(data["asset_group_id"] or None),
        }
        if "protected" in self.fields:
            values["protected"] = data["protected"]
        return values


class OfflinePolicyForm(forms.Form):
    """The tenant's offline alert policy, or a site's override of it (decision 0032)."""

    site = forms.ChoiceField(
        required=False,
        label="Applies to",
        help_text="A site's own policy replaces the tenant's for the devices placed there.",
    )
    enabled = forms.BooleanField(required=False, label="Open a ticket when a device goes offline")
    minutes = forms.IntegerField(
        min_value=1,
        label="Minutes without a check-in",
        help_text="Agents check in every 100 seconds; 5 minutes is the least allowed.",
    )
    devices = forms.ChoiceField(choices=AlertDevices.choices, label="Which devices")
    asset_group = forms.ChoiceField(required=False, label="Asset group (when watching one)")
    service_area = forms.ChoiceField(
        required=False,
        label="Service area of the ticket",
        help_text="With the device's site and asset group, it decides who gets the ticket "
        "(the responsibility matrix).",
    )
    impact = forms.IntegerField(min_value=1, max_value=9, label="Impact (1 is highest)")
    urgency = forms.IntegerField(min_value=1, max_value=9, label="Urgency (1 is highest)")
    resolve_on_return = forms.BooleanField(
        required=False, label="Resolve the ticket when the device checks in again"
    )

    def __init__(
        self,
        *args: Any,
        sites: QuerySet[Any],
        groups: QuerySet[Any],
        areas: QuerySet[Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choose(
            self.fields["site"], [("", "The whole tenant")] + [(str(s.pk), s.name) for s in sites]
        )
        _choose(self.fields["asset_group"], [("", "—")] + [(str(g.pk), g.name) for g in groups])
        _choose(self.fields["service_area"], [("", "None")] + [(str(a.pk), a.name) for a in areas])

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "site_id": parse_id(data["site"] or None),
            "enabled": data["enabled"],
            "minutes": data["minutes"],
            "devices": data["devices"],
            "asset_group_id": parse_id(data["asset_group"] or None),
            "service_area_id": parse_id(data["service_area"] or None),
            "impact": data["impact"],
            "urgency": data["urgency"],
            "resolve_on_return": data["resolve_on_return"],
        }
