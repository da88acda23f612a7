"""Forms of the requester portal."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from tandem.servicedesk.tickets.forms import ReplyForm

# --- The requester portal -------------------------------------------------------------------

#: Question types a category may ask in the portal (``Category.form_fields``).
QUESTION_TYPES = ("text", "textarea", "choice")
#: Extra questions are named ``answer_<name>`` so they never collide with subject/description.
ANSWER_PREFIX = "answer_"


def portal_questions(form_fields: Any) -> list[dict[str, Any]]:
    """A category's extra questions, normalised; malformed entries are skipped, so a typo in
    a category's configuration never breaks the portal.

    Each is ``{"name", "label", "type": text|textarea|choice, "choices": [...],
    "required": bool}``; choices are strings or ``[value, label]`` pairs; questions are
    required unless ``"required": false``.
    """
    questions: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in form_fields if isinstance(form_fields, list) else []:
        if not isinstance(entry, dict):
            continue
        name, kind = str(entry.get("name") or "").strip(), entry.get("type", "text")
        if not name or name in seen or kind not in QUESTION_TYPES:
            continue
        choices: list[tuple[str, str]] = []
        for choice in entry.get("choices") or []:
            if isinstance(choice, list | tuple) and len(choice) == 2:
                choices.append((str(choice[0]), str(choice[1])))
            elif isinstance(choice, str | int | float):
                choices.append((str(choice), str(choice)))
        if kind == "choice" and not choices:
            continue
        seen.add(name)
        questions.append(
            {
                "name": name,
                "label": str(entry.get("label") or name).strip()[:200],
                "type": kind,
                "choices": choices,
                "required": entry.get("required", True) is not False,
            }
        )
    return questions


class PortalTicketForm(forms.Form):
    """A requester's new ticket in the portal: subject, description, and the category's own
    questions as real inputs, validated here (required, one of the choices)."""

    subject = forms.CharField(max_length=200, help_text="One line: what is wrong or needed.")
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What happened, since when, what you tried.",
    )
    # Impact and urgency in the requester's words; the tenant's matrix turns them into a
    # priority (1 = the most severe level of each).
    impact = forms.TypedChoiceField(
        label="Who is affected?",
        coerce=int,
        required=False,
        empty_value=3,  # type: ignore[arg-type]  # Django returns it as is
        initial=3,
        choices=[(3, "Just me"), (2, "My team or department"), (1, "A whole site or everyone")],
    )
    urgency = forms.TypedChoiceField(
        label="How urgent is it?",
        coerce=int,
        required=False,
        empty_value=3,  # type: ignore[arg-type]  # Django returns it as is
        initial=3,
        choices=[(3, "It can wait"), (2, "I can work, but badly"), (1, "I cannot work at all")],
    )

    def __init__(self, *args: Any, questions: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            label, required = question["label"], question["required"]
            field: forms.Field
            if question["type"] == "choice":
                empty = [("", "Choose…")]
                field = forms.ChoiceField(
                    label=label, required=required, choices=empty + question["choices"]
                )
            elif question["type"] == "textarea":
                field = forms.CharField(
                    label=label,
                    required=required,
                    max_length=5000,
                    widget=forms.Textarea(attrs={"rows": 3}),
                )
            else:
                field = forms.CharField(label=label, required=required, max_length=500)
            self.fields[ANSWER_PREFIX + question["name"]] = field

    def answers(self) -> list[tuple[str, str]]:
        """(label, answer) of every answered question, in the category's order; a choice
        is given by its label, as the requester saw it."""
        result = []
        for question in self.questions:
            value = str(self.cleaned_data.get(ANSWER_PREFIX + question["name"]) or "").strip()
            if not value:
                continue
            if question["type"] == "choice":
                value = dict(question["choices"]).get(value, value)
            result.append((question["label"], value))
        return result

    def description_with_answers(self) -> str:
        """The description followed by one "Label: answer" line per answered question."""
        lines = [f"{label}: {value}" for label, value in self.answers()]
        text = self.cleaned_data["description"].strip()
        return "\n\n".join(part for part in (text, "\n".join(lines)) if part)


class RatingForm(forms.Form):
    """How the requester rates the resolution: 1 to 5 stars and an optional comment."""

    score = forms.TypedChoiceField(
        label="How did we do?",
        coerce=int,
        widget=forms.RadioSelect,
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)],
    )
    comment = forms.CharField(
        label="Anything to add?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PortalCloseForm(forms.Form):
    """Closing a ticket asks for a tick that says so: the confirmation works without
    JavaScript, and a stray click on the button closes nothing."""

    confirm = forms.BooleanField(
        label="Yes, close it: the problem is gone or I no longer need help",
        error_messages={"required": "Tick the box to confirm that you want to close it."},
    )


class PortalReplyForm(ReplyForm):
    """A requester's reply in the portal, optionally with one file (public, like the reply)."""

    file = forms.FileField(required=False, label="Attach a file")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.MAIL_MAX_ATTACHMENT_BYTES // (1024 * 1024)
        self.fields[
            "file"
        ].help_text = f"A screenshot or a document, up to {limit} MB; not programs or scripts."
