"""Forms of the IT ticket pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from tandem.core.widgets import DateInput
from tandem.servicedesk.choices import CALLER_SOURCES, TicketSource, Visibility


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
    device_ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Devices", help_text="The devices it is about."
    )

    def __init__(
        self,
        *args: Any,
        categories: QuerySet[Any],
        sites: QuerySet[Any],
        impacts: Sequence[str],
        urgencies: Sequence[str],
        devices: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {"impact": len(impacts), "urgency": len(urgencies)})
        super().__init__(*args, **kwargs)
        if devices:
            _set_choices(self, "device_ids", devices)
        else:
            del self.fields["device_ids"]  # requesters, and tenants without devices
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
            "device_ids": data.get("device_ids") or [],
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
        choices=CALLER_SOURCES,
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


# --- Merge, parent, tags, watching -------------------------------------------------------------
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


class DevicesForm(forms.Form):
    """The devices a ticket names, of those the person sees."""

    device_ids = forms.TypedMultipleChoiceField(coerce=int, required=False, label="Devices")

    def __init__(self, *args: Any, devices: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "device_ids", devices)

    def arguments(self) -> dict[str, Any]:
        return {"device_ids": self.cleaned_data["device_ids"]}


class WatchForm(forms.Form):
    """Watching asks nothing; the form carries the CSRF token and the errors."""
