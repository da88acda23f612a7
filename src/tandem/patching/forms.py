"""The policy page's forms: a level's policy, a maintenance window, a ring.

Each form only shapes what the person typed (empty means "inherit"); the services check
the values (the same rules as the API) and the views report their errors in words.
"""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.patching import inheritance
from tandem.patching.choices import PolicyAction, RebootMode

INHERIT = ("", "Inherit")


class PolicyForm(forms.Form):
    """One level's settings. Every field may be left at "Inherit"."""

    excluded_packages = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One package per line; exclusions add up along the chain.",
    )
    auto_approve_after_days = forms.IntegerField(required=False, min_value=0, max_value=365)
    reboot_mode = forms.ChoiceField(required=False, choices=[INHERIT, *RebootMode.choices])
    reboot_deadline_hours = forms.IntegerField(required=False, min_value=0, max_value=24 * 30)
    ring_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    maintenance_window_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(
        self,
        *args: Any,
        rings: list[tuple[int, str]],
        windows: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        actions = [INHERIT, *PolicyAction.choices]
        for severity, name in inheritance.SEVERITY_SETTINGS.items():
            self.fields[name] = forms.ChoiceField(
                required=False, choices=actions, label=f"Security updates, {severity}"
            )
        for classification, name in inheritance.CLASSIFICATION_SETTINGS.items():
            self.fields[name] = forms.ChoiceField(
                required=False, choices=actions, label=f"{classification.capitalize()} updates"
            )
        self.fields["ring_id"].choices = [INHERIT, *rings]  # type: ignore[attr-defined]
        self.fields["maintenance_window_id"].choices = [INHERIT, *windows]  # type: ignore[attr-defined]
        self.order_fields([*inheritance.SETTINGS, "excluded_packages"])

    def settings(self) -> dict[str, Any]:
        """The settings as ``services.set_patch_policy`` takes them (None inherits)."""
        data = self.cleaned_data
        return {name: _none_if_empty(data.get(name)) for name in inheritance.SETTINGS}

    def packages(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["excluded_packages"].splitlines()]


def _none_if_empty(value: Any) -> Any:
    """A choice left at "Inherit" is ``""``; 0 stays 0 (a real value: "reboot at once")."""
    return None if value == "" else value


class WindowForm(forms.Form):
    name = forms.CharField(max_length=120)
    rrule = forms.CharField(
        max_length=500,
        label="Recurrence (RFC 5545 RRULE)",
        initial="FREQ=WEEKLY;BYDAY=SA",
        help_text="For example FREQ=WEEKLY;BYDAY=SA or FREQ=MONTHLY;BYDAY=2TU.",
    )
    first_start = forms.DateTimeField(
        label="First start (local time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    time_zone = forms.CharField(max_length=64, initial="UTC")
    duration_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=240)


class RingForm(forms.Form):
    name = forms.CharField(max_length=120)
    order = forms.IntegerField(min_value=0, max_value=100, initial=0)
    deferral_days = forms.IntegerField(min_value=0, max_value=365, initial=0)
    min_successes = forms.IntegerField(min_value=0, max_value=100_000, initial=0)
    max_failure_percent = forms.IntegerField(min_value=0, max_value=100, initial=100)
