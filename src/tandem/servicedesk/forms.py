"""Forms of the service-desk pages. They parse input into the services' keyword arguments
(field names equal the arguments); the services decide what is valid, and their field errors
are shown on the matching fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from tandem.servicedesk.choices import TicketSource, Visibility
from tandem.tenancy.forms import DateInput


def level_choices(labels: Sequence[str]) -> list[tuple[int, str]]:
    """Impact or urgency levels of the tenant's priority matrix: 1 is the most severe."""
    return [(index + 1, str(label).capitalize()) for index, label in enumerate(labels)]


def _pk(value: Any) -> int | None:
    return value.pk if value is not None else None


def _set_queryset(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    cast(forms.ModelChoiceField, form.fields[name]).queryset = queryset  # type: ignore[type-arg]


def _set_choices(form: forms.Form, name: str, choices: Sequence[tuple[Any, str]]) -> None:
    cast(forms.ChoiceField, form.fields[name]).choices = list(choices)


# --- A new ticket ---------------------------------------------------------------------------


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=200, help_text="One line: what is wrong or needed.")
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What happened, since when, what you tried.",
    )
    category_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Category",
        empty_label="Not sure",
        help_text="Decides who handles it.",
    )
    impact = forms.TypedChoiceField(coerce=int, help_text="How much of the business is affected.")
    urgency = forms.TypedChoiceField(coerce=int, help_text="How soon it hurts.")
    site_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Site",
        empty_label="No particular site",
    )

    def __init__(
        self,
        *args: Any,
        categories: QuerySet[Any],
        sites: QuerySet[Any],
        impacts: Sequence[str],
        urgencies: Sequence[str],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {"impact": len(impacts), "urgency": len(urgencies)})
        super().__init__(*args, **kwargs)
        _set_queryset(self, "category_id", categories)
        _set_choices(self, "impact", level_choices(impacts))
        _set_choices(self, "urgency", level_choices(urgencies))
        if sites.exists():
            _set_queryset(self, "site_id", sites)
        else:
            del self.fields["site_id"]  # requesters do not see the tenant's sites

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "subject": data["subject"],
            "description": data["description"],
            "category_id": _pk(data["category_id"]),
            "impact": data["impact"],
            "urgency": data["urgency"],
            "site_id": _pk(data.get("site_id")),
        }


class _AnyChoice(forms.TypedChoiceField):
    """A choice whose valid values the service decides (a person found by a search that
    the POST does not repeat): any integer passes here."""

    def valid_value(self, value: Any) -> bool:
        return True


class TicketLogForm(TicketCreateForm):
    """A technician logs a ticket for a caller: who called (picked from the tenant's
    people by a search, or new), how they reached IT, what it is about (the fields of a new
    ticket), and optionally who takes it. Field names are the arguments of
    ``services.log_ticket_for_caller``."""

    caller_q = forms.CharField(
        required=False,
        max_length=100,
        label="Find the caller",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or e-mail"}),
    )
    requester_id = _AnyChoice(
        coerce=int,
        required=False,
        empty_value=None,
        label="Caller",
        widget=forms.RadioSelect,
    )
    new_requester_name = forms.CharField(
        required=False, max_length=200, label="Or a new person: name"
    )
    new_requester_email = forms.EmailField(
        required=False,
        label="Their e-mail",
        help_text="They become a requester of the tenant and can follow the ticket in the portal.",
    )
    source = forms.ChoiceField(
        label="How they reached you",
        choices=TicketSource.choices,
        initial=TicketSource.PHONE,
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What the caller said, since when, what they tried.",
    )
    party_id = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Held by")
    assignee_id = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Assignee"
    )
    field_order = (
        "caller_q",
        "requester_id",
        "new_requester_name",
        "new_requester_email",
        "source",
        "subject",
        "description",
        "category_id",
        "impact",
        "urgency",
        "site_id",
        "party_id",
        "assignee_id",
    )

    def __init__(
        self,
        *args: Any,
        callers: Sequence[Any],
        parties: Sequence[tuple[int, str]],
        people: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        category = cast(forms.ModelChoiceField, self.fields["category_id"])  # type: ignore[type-arg]
        category.label, category.help_text = "Service area (category)", ""
        _set_choices(
            self,
            "requester_id",
            [(u.pk, f"{u.full_name or u.email} · {u.email}") for u in callers],
        )
        _set_choices(self, "party_id", [("", "As the responsibility matrix decides"), *parties])
        _set_choices(self, "assignee_id", [("", "Nobody yet"), *people])
        self.people = dict(people)

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            **super().arguments(),
            "requester_id": data["requester_id"],
            "new_requester_name": data["new_requester_name"],
            "new_requester_email": data["new_requester_email"],
            "source": data["source"],
            "holder_id": data["party_id"],
            "assignee_id": data["assignee_id"],
        }


# --- Working a ticket -----------------------------------------------------------------------


class NoteForm(forms.Form):
    """A note from IT, in one of the three tiers; IT-shared unless chosen otherwise."""

    body = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 4}))
    visibility = forms.ChoiceField(
        label="Who may read it", widget=forms.RadioSelect, initial=Visibility.SHARED
    )

    def __init__(self, *args: Any, party_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self,
            "visibility",
            [
                (Visibility.PRIVATE, f"Private to {party_name}"),
                (Visibility.SHARED, "IT-shared: internal IT and the providers on this ticket"),
                (Visibility.PUBLIC, "Public: the requester sees it too"),
            ],
        )

    def arguments(self) -> dict[str, Any]:
        return {"body": self.cleaned_data["body"], "visibility": self.cleaned_data["visibility"]}


class ReplyForm(forms.Form):
    """A requester's reply: always public."""

    body = forms.CharField(label="Reply", widget=forms.Textarea(attrs={"rows": 4}))

    def arguments(self) -> dict[str, Any]:
        return {"body": self.cleaned_data["body"], "visibility": Visibility.PUBLIC}


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="Status")

    def __init__(self, *args: Any, statuses: Sequence[Sequence[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "status", [(s[0], s[1]) for s in statuses])


class PriorityForm(forms.Form):
    impact = forms.TypedChoiceField(coerce=int)
    urgency = forms.TypedChoiceField(coerce=int)

    def __init__(
        self, *args: Any, impacts: Sequence[str], urgencies: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "impact", level_choices(impacts))
        _set_choices(self, "urgency", level_choices(urgencies))


class HandoffForm(forms.Form):
    to_party_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label="Hand off to",
        empty_label="Choose a party…",
    )
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it goes there; kept in the ticket's history.",
    )

    def __init__(self, *args: Any, parties: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "to_party_id", parties)

    def arguments(self) -> dict[str, Any]:
        return {"to_party": self.cleaned_data["to_party_id"], "reason": self.cleaned_data["reason"]}


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name or obj.email)


class AssignForm(forms.Form):
    assignee_id = PersonChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Assignee",
        empty_label="Nobody",
    )

    def __init__(self, *args: Any, people: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_queryset(self, "assignee_id", people)

    def arguments(self) -> dict[str, Any]:
        return {"assignee": self.cleaned_data["assignee_id"]}


class TimeForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60)
    work_date = forms.DateField(label="Date", widget=DateInput())
    service_area_id: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        label="Service area",
        empty_label="The ticket's",
    )
    billable = forms.BooleanField(required=False, initial=True)
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: Any, service_areas: QuerySet[Any], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"work_date": timezone.localdate(), "billable": True})
        super().__init__(*args, **kwargs)
        _set_queryset(self, "service_area_id", service_areas)

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "minutes": data["minutes"],
            "work_date": data["work_date"],
            "service_area_id": _pk(data["service_area_id"]),
            "billable": data["billable"],
            "note": data["note"],
        }


# --- Ticket extras: merge, parent, tags, watching -------------------------------------------
# Other tickets are named by their number in the tenant, as people say them ("#42"); the
# view looks the number up among the tickets the person sees.


class MergeForm(forms.Form):
    """Merge this ticket into another: the first submit asks for confirmation, the second
    (``confirm``) merges."""

    into = forms.IntegerField(
        label="Merge into ticket #",
        min_value=1,
        help_text="This ticket is closed and points there; its notes and files stay here.",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ParentForm(forms.Form):
    """Make this ticket a child of another, or of none (empty)."""

    parent = forms.IntegerField(
        label="Parent ticket #",
        min_value=1,
        required=False,
        help_text="Leave empty to make it a ticket of its own again.",
    )


class TagsForm(forms.Form):
    """The ticket's tags as one comma-separated line."""

    tags = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Separated by commas; lower-cased, at most 20. Empty removes every tag.",
    )

    def arguments(self) -> dict[str, Any]:
        parts = (part.strip() for part in self.cleaned_data["tags"].split(","))
        return {"tags": [part for part in parts if part]}


class WatchForm(forms.Form):
    """Watching asks nothing; the form carries the CSRF token and the errors."""


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
        from django.conf import settings

        super().__init__(*args, **kwargs)
        limit = settings.MAIL_MAX_ATTACHMENT_BYTES // (1024 * 1024)
        self.fields[
            "file"
        ].help_text = f"A screenshot or a document, up to {limit} MB; not programs or scripts."
