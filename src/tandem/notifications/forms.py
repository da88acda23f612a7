"""Forms of the notifications pages. They only shape input; the services validate it."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.core import events
from tandem.notifications.choices import NotificationKind


class EmailPreferencesForm(forms.Form):
    """One check box per kind of notification: ticked, it also comes by e-mail."""

    def __init__(self, *args: Any, current: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.BooleanField(
                label=f"{kind.label} by e-mail",
                required=False,
                initial=current.get(kind.value, True),
            )


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        help_text="An https:// address of yours that accepts POSTed JSON.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/tandem"}),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The ticket notifications first, then every domain event type (decision 0022).
        self.fields["events"].choices = [  # type: ignore[attr-defined]
            *NotificationKind.choices,
            *((name, name) for name in events.event_types()),
        ]
