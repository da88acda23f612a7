"""The request-a-job form of the device page, and the approval/rejection/cancel forms."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.jobs.machine import Kind
from tandem.jobs.parameters import DEFAULT_TIMEOUT_SECONDS, INTERPRETERS

KIND_LABELS = {
    Kind.RUN_SCRIPT: "Run a script",
    Kind.INSTALL_UPDATES: "Install updates",
    Kind.REBOOT: "Reboot",
}


class JobRequestForm(forms.Form):
    """One form for the three kinds; the fields of other kinds are ignored."""

    kind = forms.ChoiceField()
    reason = forms.CharField(max_length=500)
    script = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}))
    interpreter = forms.ChoiceField(choices=[(i, i) for i in INTERPRETERS], initial="sh")
    timeout_seconds = forms.IntegerField(
        min_value=1, max_value=86_400, initial=DEFAULT_TIMEOUT_SECONDS, required=False
    )
    packages = forms.CharField(
        required=False,
        max_length=20_000,
        help_text='Package names separated by spaces, or "all", or "security".',
    )
    delay_minutes = forms.IntegerField(min_value=0, max_value=1440, initial=1, required=False)
    start_in_minutes = forms.IntegerField(min_value=0, max_value=43_200, initial=0)
    window_hours = forms.IntegerField(min_value=1, max_value=720, initial=24)

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, KIND_LABELS[Kind(k)]) for k in kinds]  # type: ignore[attr-defined]

    def parameters(self) -> dict[str, Any]:
        """The job's parameters from the fields of its kind (the service checks them)."""
        data = self.cleaned_data
        kind = data["kind"]
        if kind == Kind.RUN_SCRIPT:
            return {
                "script": data.get("script") or "",
                "interpreter": data.get("interpreter") or "sh",
                "timeout_seconds": data.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS,
            }
        if kind == Kind.INSTALL_UPDATES:
            words = (data.get("packages") or "").split()
            return {"packages": words[0] if words in (["all"], ["security"]) else words}
        delay = data.get("delay_minutes")
        return {"delay_minutes": 1 if delay is None else delay}


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=500, required=False)
