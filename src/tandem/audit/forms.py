"""The audit log's filter form (a GET form: it reads, never writes)."""

from __future__ import annotations

from typing import Any, cast

from django import forms


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    actor = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, actions: list[str], actors: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["action"]).choices = [("", "Any action")] + [
            (a, a) for a in actions
        ]
        cast(forms.ChoiceField, self.fields["actor"]).choices = [("", "Anyone")] + [
            (a, a) for a in actors
        ]
