"""Forms of the desk configuration pages."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from typing import Any

from django import forms

from tandem.servicedesk.choices import MAX_REOPEN_DAYS, MailSenderPolicy, StatusKind
from tandem.servicedesk.config.services import QUESTION_TYPES
from tandem.servicedesk.config.sla_services import METRICS, WEEKDAY_NAMES, WEEKDAYS

# --- Canned replies ---------------------------------------------------------------------------
# Kept by IT people, not only the owners: the tenant's IT keeps the tenant's replies and its
# own party's, each provider its own party's (``servicedesk.change_cannedreply``).


class CannedReplyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What you pick it by on a ticket.")
    body = forms.CharField(
        label="Text", max_length=10_000, widget=forms.Textarea(attrs={"rows": 8})
    )
    shared = forms.BooleanField(
        required=False,
        label="The tenant's reply",
        help_text="Read by the tenant's IT and every provider it engages; otherwise only "
        "your own party reads it.",
    )

    def __init__(self, *args: Any, may_share: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_share:
            del self.fields["shared"]


METRIC_LABELS = {
    "first_response": "First response",
    "next_update": "Next update",
    "resolution": "Resolution",
}
TIME_ATTRS = {
    "placeholder": "hh:mm",
    "inputmode": "numeric",
    "size": "5",
    "maxlength": "5",
    "pattern": "[0-9]{2}:[0-9]{2}",
    "autocomplete": "off",
}


def _error_slot() -> forms.CharField:
    """A hidden field that only carries a service's errors about a composite value."""
    return forms.CharField(required=False, widget=forms.HiddenInput)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def priority_range_choices(count: int) -> list[tuple[int, str]]:
    """``[(1, "P1 only"), (2, "P1 to P2"), ...]`` for a matrix of ``count`` priorities."""
    return [(n, "P1 only" if n == 1 else f"P1 to P{n}") for n in range(1, count + 1)]


# --- Calendars --------------------------------------------------------------------------------


class CalendarForm(forms.Form):
    """A calendar: weekly hours as a grid of from/to inputs per weekday (an empty row is a
    closed day), holidays by country and as dates, and special days as lines
    ``2026-12-24 08:00-12:00`` (several intervals separated by commas, or ``closed``)."""

    name = forms.CharField(max_length=120)
    time_zone = forms.ChoiceField(label="Time zone")
    weekly = _error_slot()
    weekdays_like_monday = forms.BooleanField(
        required=False,
        label="Use Monday's hours for Tuesday to Friday",
        help_text="Fill in Monday only; Tuesday to Friday get the same intervals.",
    )
    holiday_country = forms.CharField(
        required=False,
        max_length=2,
        label="Public holidays of",
        help_text="Two-letter country code (DE, GB, US); empty for none.",
    )
    holiday_subdivision = forms.CharField(
        required=False,
        max_length=10,
        label="Region",
        help_text="The state or region code, if holidays differ by region (BE for Berlin).",
    )
    custom_holidays = forms.CharField(
        required=False,
        label="Company days off",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-24"}),
        help_text="One date per line (YYYY-MM-DD): closed all day.",
    )
    special_days = forms.CharField(
        required=False,
        label="Special days",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-31 08:00-12:00"}),
        help_text="One date per line with its hours instead of the usual ones: "
        "“2026-12-31 08:00-12:00”, several intervals separated by commas, or “closed”.",
    )

    def __init__(self, *args: Any, slots: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = slots
        self.fields["time_zone"].choices = [  # type: ignore[attr-defined]
            (zone, zone) for zone in sorted(zoneinfo.available_timezones())
        ]
        for day in WEEKDAYS:
            for slot in range(slots):
                for end in ("start", "end"):
                    self.fields[f"d{day}_{slot}_{end}"] = forms.CharField(
                        required=False,
                        max_length=5,
                        label=f"{WEEKDAY_NAMES[int(day)]} {end} {slot + 1}",
                        widget=forms.TextInput(attrs=TIME_ATTRS),
                    )

    @staticmethod
    def initial_for(calendar: Any) -> dict[str, Any]:
        """The form's initial data from a stored calendar."""
        initial: dict[str, Any] = {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "custom_holidays": "\n".join(calendar.custom_holidays),
            "special_days": "\n".join(
                f"{day} {', '.join(f'{a}-{b}' for a, b in spans) or 'closed'}"
                for day, spans in sorted(calendar.special_days.items())
            ),
        }
        for day, spans in calendar.weekly.items():
            for slot, (start, end) in enumerate(spans):
                initial[f"d{day}_{slot}_start"] = start
                initial[f"d{day}_{slot}_end"] = end
        return initial

    @staticmethod
    def slots_for(calendar: Any = None) -> int:
        """Three intervals per day, or one more than the busiest day already has."""
        busiest = max((len(s) for s in calendar.weekly.values()), default=0) if calendar else 0
        return max(3, busiest + 1)

    def weekly_rows(self) -> list[dict[str, Any]]:
        """The grid for the template: one row per weekday with its (from, to) inputs."""
        return [
            {
                "day": WEEKDAY_NAMES[int(day)],
                "slots": [
                    (self[f"d{day}_{slot}_start"], self[f"d{day}_{slot}_end"])
                    for slot in range(self.slots)
                ],
            }
            for day in WEEKDAYS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for day in WEEKDAYS:
            for slot in range(self.slots):
                start = (data.get(f"d{day}_{slot}_start") or "").strip()
                end = (data.get(f"d{day}_{slot}_end") or "").strip()
                if bool(start) != bool(end):
                    self.add_error(
                        "weekly",
                        f"{WEEKDAY_NAMES[int(day)]}: give both a start and an end, or neither.",
                    )
        try:
            self.special = _parse_special_days(data.get("special_days") or "")
        except ValueError as exc:
            self.add_error("special_days", str(exc))
        return data

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        weekly: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            spans = [
                [data[f"d{day}_{slot}_start"].strip(), data[f"d{day}_{slot}_end"].strip()]
                for slot in range(self.slots)
                if data.get(f"d{day}_{slot}_start")
            ]
            if spans:
                weekly[day] = spans
        if data.get("weekdays_like_monday"):
            for day in ("1", "2", "3", "4"):
                weekly.pop(day, None)
                if "0" in weekly:
                    weekly[day] = [list(span) for span in weekly["0"]]
        return {
            "name": data["name"],
            "time_zone": data["time_zone"],
            "weekly": weekly,
            "holiday_country": data["holiday_country"].strip().upper(),
            "holiday_subdivision": data["holiday_subdivision"].strip(),
            "custom_holidays": [
                part for line in _lines(data["custom_holidays"]) for part in line.split()
            ],
            "special_days": self.special,
        }


def _parse_special_days(text: str) -> dict[str, list[list[str]]]:
    """``2026-12-24 08:00-12:00, 13:00-15:00`` or ``2026-12-24 closed`` per line."""
    days: dict[str, list[list[str]]] = {}
    for number, line in enumerate(_lines(text), start=1):
        date, _, rest = line.partition(" ")
        rest = rest.strip()
        if not rest:
            raise ValueError(f"Line {number}: a date, then its hours or “closed”.")
        if date in days:
            raise ValueError(f"Line {number}: {date} is given twice.")
        spans: list[list[str]] = []
        if rest.lower() != "closed":
            for part in rest.split(","):
                start, dash, end = part.strip().partition("-")
                if not dash or not start.strip() or not end.strip():
                    raise ValueError(f"Line {number}: write intervals as 08:00-12:00.")
                spans.append([start.strip(), end.strip()])
        days[date] = spans
    return days


# --- SLA policies -----------------------------------------------------------------------------


class SlaPolicyForm(forms.Form):
    """An SLA or OLA: targets in minutes of business time per priority and metric (an empty
    cell has no target), the statuses that pause each metric, and when to warn."""

    name = forms.CharField(max_length=120)
    party_id = forms.TypedChoiceField(coerce=int, label="For party")
    calendar_id = forms.TypedChoiceField(
        coerce=int, label="Calendar", help_text="Business hours in which its clocks run."
    )
    warn_at_percent = forms.IntegerField(
        min_value=1,
        max_value=99,
        initial=80,
        label="Warn at",
        help_text="Percent of a target elapsed when the desk warns.",
    )
    targets = _error_slot()
    pause_statuses = _error_slot()

    def __init__(
        self,
        *args: Any,
        parties: Sequence[tuple[int, str]] | None,
        calendars: Sequence[tuple[int, str]],
        priorities: Sequence[str],
        statuses: Sequence[Sequence[str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if parties is None:
            del self.fields["party_id"]  # a policy's party never changes
        else:
            self.fields["party_id"].choices = [("", "Choose a party…"), *parties]  # type: ignore[attr-defined]
        self.fields["calendar_id"].choices = [("", "Choose a calendar…"), *calendars]  # type: ignore[attr-defined]
        self.priorities = list(priorities)
        for number in range(1, len(self.priorities) + 1):
            for metric in METRICS:
                self.fields[f"t{number}_{metric}"] = forms.IntegerField(
                    required=False,
                    min_value=1,
                    label=f"{self.priorities[number - 1]} {METRIC_LABELS[metric]}",
                    widget=forms.NumberInput(attrs={"size": "6", "min": "1"}),
                )
        status_choices = [(key, name) for key, name, _kind in statuses]
        for metric in METRICS:
            self.fields[f"pause_{metric}"] = forms.MultipleChoiceField(
                required=False,
                label=f"{METRIC_LABELS[metric]} pauses in",
                choices=status_choices,
                widget=forms.CheckboxSelectMultiple,
            )

    @staticmethod
    def initial_for(policy: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": policy.name,
            "calendar_id": policy.calendar_id,
            "warn_at_percent": policy.warn_at_percent,
        }
        for priority, metrics in policy.targets.items():
            for metric, minutes in metrics.items():
                initial[f"t{priority}_{metric}"] = minutes
        for metric, keys in policy.pause_statuses.items():
            initial[f"pause_{metric}"] = list(keys)
        return initial

    def target_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "priority": label,
                "cells": [self[f"t{number}_{metric}"] for metric in METRICS],
            }
            for number, label in enumerate(self.priorities, start=1)
        ]

    def metric_labels(self) -> list[str]:
        return [METRIC_LABELS[m] for m in METRICS]

    def pause_fields(self) -> list[Any]:
        return [self[f"pause_{metric}"] for metric in METRICS]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        targets: dict[str, dict[str, int]] = {}
        for number in range(1, len(self.priorities) + 1):
            cells = {m: data[f"t{number}_{m}"] for m in METRICS if data.get(f"t{number}_{m}")}
            if cells:
                targets[str(number)] = cells
        arguments = {
            "name": data["name"],
            "calendar_id": data["calendar_id"],
            "warn_at_percent": data["warn_at_percent"],
            "targets": targets,
            "pause_statuses": {
                m: list(data[f"pause_{m}"]) for m in METRICS if data.get(f"pause_{m}")
            },
        }
        if "party_id" in self.fields:
            arguments["party_id"] = data["party_id"]
        return arguments


# --- Categories -------------------------------------------------------------------------------


class CategoryForm(forms.Form):
    """A category and its portal questions, one row per question (a row without a name is
    left out; two empty rows are there to add questions)."""

    name = forms.CharField(max_length=120)
    service_area_id = forms.TypedChoiceField(coerce=int, label="Service area")
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to requesters when they choose a category.",
    )
    form_fields = _error_slot()

    def __init__(
        self,
        *args: Any,
        areas: Sequence[tuple[int, str]],
        rows: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_area_id"].choices = [("", "Choose a service area…"), *areas]  # type: ignore[attr-defined]
        self.rows = rows
        for row in range(rows):
            self.fields[f"q{row}_name"] = forms.CharField(
                required=False,
                max_length=40,
                label="Name",
                widget=forms.TextInput(attrs={"size": "12"}),
            )
            self.fields[f"q{row}_label"] = forms.CharField(
                required=False, max_length=120, label="Question"
            )
            self.fields[f"q{row}_type"] = forms.ChoiceField(
                required=False,
                label="Answer",
                choices=[(t, t.capitalize()) for t in QUESTION_TYPES],
            )
            self.fields[f"q{row}_choices"] = forms.CharField(
                required=False,
                label="Choices",
                widget=forms.Textarea(attrs={"rows": 2, "cols": 20}),
            )
            self.fields[f"q{row}_required"] = forms.BooleanField(required=False, label="Required")

    @staticmethod
    def initial_for(category: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": category.name,
            "service_area_id": category.service_area_id,
            "description": category.description,
        }
        for row, question in enumerate(category.form_fields or []):
            initial[f"q{row}_name"] = question.get("name", "")
            initial[f"q{row}_label"] = question.get("label", "")
            initial[f"q{row}_type"] = question.get("type", "text")
            initial[f"q{row}_choices"] = "\n".join(str(c) for c in question.get("choices") or [])
            initial[f"q{row}_required"] = question.get("required", True) is not False
        return initial

    @staticmethod
    def rows_for(category: Any = None) -> int:
        return len(category.form_fields or []) + 2 if category is not None else 2

    def question_rows(self) -> list[list[Any]]:
        return [
            [self[f"q{row}_{part}"] for part in ("name", "label", "type", "choices", "required")]
            for row in range(self.rows)
        ]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        questions = []
        for row in range(self.rows):
            name = (data.get(f"q{row}_name") or "").strip()
            label = (data.get(f"q{row}_label") or "").strip()
            if not name and not label:
                continue
            kind = data.get(f"q{row}_type") or "text"
            questions.append(
                {
                    "name": name,
                    "label": label,
                    "type": kind,
                    "choices": _lines(data.get(f"q{row}_choices") or "")
                    if kind == "choice"
                    else [],
                    "required": bool(data.get(f"q{row}_required")),
                }
            )
        return {
            "name": data["name"],
            "service_area_id": data["service_area_id"],
            "description": data["description"],
            "form_fields": questions,
        }


# --- Priority matrix --------------------------------------------------------------------------


class PriorityMatrixForm(forms.Form):
    """Labels one per line (most severe first) and the grid as one choice per urgency x
    impact. Changing the number of labels needs a new grid: “Update the grid” redraws it
    from the labels without saving, keeping the cells that still exist."""

    impacts = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, the most severe first (3 to 9).",
    )
    urgencies = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, the most severe first (3 to 9).",
    )
    priorities = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line, the most urgent first (P1); 1 to 9.",
    )
    grid = _error_slot()

    def __init__(
        self,
        *args: Any,
        impacts: Sequence[str],
        urgencies: Sequence[str],
        priorities: Sequence[str],
        grid: Sequence[Sequence[str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.impact_labels, self.urgency_labels, self.priority_labels = (
            list(impacts),
            list(urgencies),
            list(priorities),
        )
        choices = [(p, p) for p in self.priority_labels]
        for u in range(len(self.urgency_labels)):
            for i in range(len(self.impact_labels)):
                self.fields[f"cell_{u}_{i}"] = forms.ChoiceField(
                    choices=choices,
                    label=f"{self.urgency_labels[u]} urgency, {self.impact_labels[i]} impact",
                    initial=_cell(grid, u, i, self.priority_labels),
                )

    @staticmethod
    def labels_from(data: Any, current: dict[str, Any]) -> dict[str, list[str]]:
        """The labels as posted (to draw the grid in their shape), else the stored ones."""
        return {
            key: _lines(data.get(key, "")) or list(current[key]) if data else list(current[key])
            for key in ("impacts", "urgencies", "priorities")
        }

    def grid_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "urgency": urgency,
                "cells": [self[f"cell_{u}_{i}"] for i in range(len(self.impact_labels))],
            }
            for u, urgency in enumerate(self.urgency_labels)
        ]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "impacts": _lines(data["impacts"]),
            "urgencies": _lines(data["urgencies"]),
            "priorities": _lines(data["priorities"]),
            "grid": [
                [data[f"cell_{u}_{i}"] for i in range(len(self.impact_labels))]
                for u in range(len(self.urgency_labels))
            ],
        }


def _cell(grid: Sequence[Sequence[str]], u: int, i: int, priorities: Sequence[str]) -> str:
    """The stored cell if the grid has it, else a diagonal default (more severe impact or
    urgency, more urgent priority), which always passes the matrix's own check."""
    if u < len(grid) and i < len(grid[u]) and grid[u][i] in priorities:
        return str(grid[u][i])
    return str(priorities[min(u + i, len(priorities) - 1)]) if priorities else ""


# --- Status workflow --------------------------------------------------------------------------


class StatusesForm(forms.Form):
    """One row per status (order, key, name, kind, remove) and two empty rows to add one.
    A used key is shown read-only: it is permanent."""

    statuses = _error_slot()

    def __init__(
        self, *args: Any, statuses: Sequence[Sequence[str]], used: set[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rows = len(statuses) + 2
        self.used = used
        kinds = [(k.value, k.label) for k in StatusKind]
        for row in range(self.rows):
            existing = statuses[row] if row < len(statuses) else None
            key_attrs = {"size": "16"}
            if existing is not None and existing[0] in used:
                key_attrs["readonly"] = "readonly"
            self.fields[f"s{row}_order"] = forms.IntegerField(
                required=False,
                min_value=1,
                label="Order",
                initial=row + 1 if existing else None,
                widget=forms.NumberInput(attrs={"size": "3", "min": "1"}),
            )
            self.fields[f"s{row}_key"] = forms.CharField(
                required=False,
                max_length=40,
                label="Key",
                initial=existing[0] if existing else "",
                widget=forms.TextInput(attrs=key_attrs),
            )
            self.fields[f"s{row}_name"] = forms.CharField(
                required=False, max_length=60, label="Name", initial=existing[1] if existing else ""
            )
            self.fields[f"s{row}_kind"] = forms.ChoiceField(
                required=False,
                choices=kinds,
                label="Kind",
                initial=existing[2] if existing else StatusKind.OPEN.value,
            )
            self.fields[f"s{row}_remove"] = forms.BooleanField(required=False, label="Remove")

    def status_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "fields": [self[f"s{row}_{part}"] for part in ("order", "key", "name", "kind")],
                "remove": self[f"s{row}_remove"],
                "used": self[f"s{row}_key"].value() in self.used,
            }
            for row in range(self.rows)
        ]

    def arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        rows = []
        for row in range(self.rows):
            key = (data.get(f"s{row}_key") or "").strip()
            name = (data.get(f"s{row}_name") or "").strip()
            if data.get(f"s{row}_remove") or (not key and not name):
                continue
            order = data.get(f"s{row}_order") or 1000 + row
            rows.append((order, row, [key, name, data.get(f"s{row}_kind") or "open"]))
        return {"statuses": [status for _order, _row, status in sorted(rows)]}


# --- Thresholds -------------------------------------------------------------------------------


class DeskThresholdsForm(forms.Form):
    urgent_priority_max = forms.TypedChoiceField(
        coerce=int,
        label="Urgent priorities",
        help_text="Out of hours, these go to whoever is on duty instead of waiting.",
    )
    ping_pong_minutes = forms.IntegerField(
        min_value=1,
        max_value=30 * 24 * 60,
        label="Ping-pong window (minutes)",
        help_text="A ticket handed back to the party that held it within this time counts "
        "as ping-pong on the dashboards. 1440 is one day.",
    )
    reopen_days = forms.IntegerField(
        min_value=0,
        max_value=MAX_REOPEN_DAYS,
        label="Reopen window (days)",
        help_text="A requester's reply this many days after the resolution still reopens the "
        "ticket; a later one opens a follow-up ticket linked to it. 0: always a follow-up.",
    )

    def __init__(self, *args: Any, priorities: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["urgent_priority_max"].choices = priority_range_choices(max(priorities, 1))  # type: ignore[attr-defined]

    def arguments(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# --- Mail senders -----------------------------------------------------------------------------


class MailSendersForm(forms.Form):
    sender_policy = forms.ChoiceField(
        label="Who may open tickets by mail",
        choices=MailSenderPolicy.choices,
        widget=forms.RadioSelect,
        help_text="Whoever is let in and is not a member becomes a requester on first mail. "
        "Mail from others waits on the mail review until you accept the sender.",
    )
    mail_domains = forms.CharField(
        label="The tenant's mail domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. acme.example. Only your own organisation's domains.",
    )

    def arguments(self) -> dict[str, Any]:
        text = self.cleaned_data.get("mail_domains") or ""
        return {
            "sender_policy": self.cleaned_data["sender_policy"],
            "mail_domains": [d for d in text.replace(",", " ").split() if d],
        }
