"""Building the IT and requester ticket pages: their forms, SLA blocks and links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tandem.core import policies
from tandem.core.principal import Principal
from tandem.responsibility import queries as matrix_queries
from tandem.servicedesk.choices import EventKind, Visibility
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.config.models import DeskSettings
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.policies import may_write_internal_notes
from tandem.servicedesk.tickets import queries
from tandem.servicedesk.tickets.forms import (
    AssignForm,
    DevicesForm,
    HandoffForm,
    MergeForm,
    NoteForm,
    ParentForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TagsForm,
    TimeForm,
    WatchForm,
)
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy import queries as tenancy_queries

TIER_TONES: dict[str, str] = {
    Visibility.PRIVATE: "warn",
    Visibility.SHARED: "info",
    Visibility.PUBLIC: "ok",
}


SLA_TONES = {"running": "info", "paused": "muted", "met": "ok", "breached": "danger"}
METRICS = {
    "first_response": "First response",
    "next_update": "Next update",
    "resolution": "Resolution",
}


# --- The ticket page ---------------------------------------------------------------------------


def _writing_party(principal: Principal, ticket: Ticket) -> int | None:
    """The party an IT note is written for: the holder when the author belongs to it."""
    own = {a.party_id for a in principal.accesses_in(ticket.tenant_id) if a.party_id}
    if not own:
        return None
    return ticket.party_id if ticket.party_id in own else min(own)


def _note_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    party_id = _writing_party(principal, ticket)
    if party_id is None:
        return ReplyForm(data)
    name = queries.party_names(ticket.tenant_id).get(party_id, "your party")
    return NoteForm(data, party_name=name)


def _status_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    statuses = desk_settings(ticket.tenant_id).statuses
    return StatusForm(data, statuses=statuses, initial={"status": ticket.status})


def _priority_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    matrix = desk_settings(ticket.tenant_id).priority_matrix
    return PriorityForm(
        data,
        impacts=matrix["impacts"],
        urgencies=matrix["urgencies"],
        initial={"impact": ticket.impact, "urgency": ticket.urgency},
    )


def _handoff_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return HandoffForm(data, parties=queries.handoff_targets(principal, ticket))


def _assign_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return AssignForm(
        data,
        people=queries.assignable_people(ticket),
        initial={"assignee_id": ticket.assignee_id},
    )


def _time_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    areas = matrix_queries.matrix_areas(principal, ticket.tenant_id).filter(is_active=True)
    return TimeForm(data, service_areas=areas)


def _merge_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return MergeForm(data)


def _parent_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    number = None
    if ticket.parent_id:
        # The current parent's number, only if the person sees that ticket.
        rows = queries.tickets(principal).filter(pk=ticket.parent_id)
        number = rows.values_list("number", flat=True).first()
    return ParentForm(data, initial={"parent": number})


def _tags_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return TagsForm(data, initial={"tags": ", ".join(ticket.tags or [])})


def _devices_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    shown = list(queries.ticket_devices(principal, ticket).values_list("pk", flat=True))
    return DevicesForm(
        data,
        initial={"device_ids": shown},
        devices=queries.linkable_devices(principal, ticket.tenant_id, linked=shown),
    )


def _watch_form(principal: Principal, ticket: Ticket, data: Any = None) -> forms.Form:
    return WatchForm(data)


#: The forms of the ticket page: (context name, action, builder).
TICKET_FORMS: tuple[tuple[str, str, Callable[..., forms.Form]], ...] = (
    ("note_form", "servicedesk.comment_ticket", _note_form),
    ("status_form", "servicedesk.change_ticket", _status_form),
    ("priority_form", "servicedesk.change_ticket", _priority_form),
    ("handoff_form", "servicedesk.handoff_ticket", _handoff_form),
    ("assign_form", "servicedesk.change_ticket", _assign_form),
    ("time_form", "servicedesk.log_time_on_ticket", _time_form),
    ("merge_form", "servicedesk.change_ticket", _merge_form),
    ("parent_form", "servicedesk.change_ticket", _parent_form),
    ("tags_form", "servicedesk.change_ticket", _tags_form),
    ("devices_form", "servicedesk.change_ticket", _devices_form),
    # Watching is reading: whoever sees the ticket may follow it.
    ("watch_form", "servicedesk.view_ticket", _watch_form),
)


def _sla_blocks(ticket: Ticket, names: dict[int, str]) -> list[dict[str, Any]]:
    """Every party's clocks, the holder's first: per metric its state, due time, time used."""
    blocks = []
    parties = sorted(
        ticket.sla_state.items(),
        key=lambda item: (int(item[0]) != ticket.party_id, names.get(int(item[0]), "")),
    )
    for party_key, metrics in parties:
        rows = []
        for metric, label in METRICS.items():
            entry = metrics.get(metric)
            if not entry:
                continue
            target, elapsed = entry.get("target") or 0, entry.get("elapsed") or 0
            rows.append(
                {
                    "metric": label,
                    "state": entry.get("state", ""),
                    "tone": SLA_TONES.get(entry.get("state", ""), "muted"),
                    "due": _parse_moment(entry.get("due")),
                    "met": _parse_moment(entry.get("met")),
                    "used": f"{_duration(elapsed)} of {_duration(target)}" if target else "",
                }
            )
        blocks.append(
            {
                "party": names.get(int(party_key), "Another party"),
                "holder": int(party_key) == ticket.party_id,
                "metrics": rows,
            }
        )
    return blocks


def _it_ticket_context(principal: Principal, ticket: Ticket) -> dict[str, Any]:
    settings = desk_settings(ticket.tenant_id)
    labels = config_queries.status_labels(settings.statuses)
    names = queries.party_names(ticket.tenant_id)
    matrix = settings.priority_matrix
    notes = list(queries.comments(principal, ticket).select_related("party"))
    for note in notes:
        note.tier_tone = TIER_TONES.get(note.visibility, "muted")  # type: ignore[attr-defined]
        note.tier_label = (  # type: ignore[attr-defined]
            f"Private to {names.get(note.party_id or 0, 'a party')}"
            if note.visibility == Visibility.PRIVATE
            else Visibility(note.visibility).label
        )
    events = list(ticket.events.all())
    for event in events:
        kind = event.kind
        event.kind_label = EventKind(kind).label if kind in EventKind.values else kind  # type: ignore[attr-defined]
        event.party_name = names.get(event.party_id, "")  # type: ignore[attr-defined]
        event.status_name = labels.get(event.status, (event.status, ""))[0]  # type: ignore[attr-defined]
        event.note = event.detail.get("reason") or event.detail.get("routing") or ""  # type: ignore[attr-defined]
    entries = list(queries.time_entries(principal, ticket))
    return {
        "notes": notes,
        "events": events,
        "handoffs": list(ticket.handoffs.select_related("from_party", "to_party", "actor")),
        "time_entries": entries,
        "time_total": _duration(60 * sum(e.minutes for e in entries)),
        "sla_blocks": _sla_blocks(ticket, names),
        "impact_label": _level(matrix["impacts"], ticket.impact),
        "urgency_label": _level(matrix["urgencies"], ticket.urgency),
    }


def _level(labels: list[str], value: int) -> str:
    return str(labels[value - 1]).capitalize() if 0 < value <= len(labels) else str(value)


def _requester_ticket_context(principal: Principal, ticket: Ticket) -> dict[str, Any]:
    # Public notes only, whatever the tiers say; IT authors are "IT", never a party or a name.
    notes = list(queries.comments(principal, ticket).filter(visibility=Visibility.PUBLIC))
    for note in notes:
        note.author_display = queries.author_for_requester(note, principal.user_id)  # type: ignore[attr-defined]
    # Public files only, like the notes, whatever else the person's tiers would allow.
    files = list(
        queries.attachments(principal, ticket)
        .filter(visibility=Visibility.PUBLIC)
        .order_by("created_at", "pk")
    )
    for file in files:
        file.from_display = (  # type: ignore[attr-defined]
            "you" if file.uploaded_by_id == principal.user_id else "IT"
        )
    return {"notes": notes, "files": files}


def _render_ticket(
    request: HttpRequest,
    principal: Principal,
    ticket: Ticket,
    *,
    status: int = 200,
    bound: dict[str, forms.Form] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The ticket page; ``bound`` holds a rejected form to show again with its errors,
    ``extra`` more context (the merge's confirmation step)."""

    tenant = tenancy_queries.tenant(principal, ticket.tenant_id)
    it_view = queries.is_it_in(principal, ticket.tenant_id)
    settings: DeskSettings = desk_settings(ticket.tenant_id)
    name, tone = config_queries.status_labels(settings.statuses).get(
        ticket.status, (ticket.status, "muted")
    )
    context: dict[str, Any] = {
        "tenant": tenant,
        "ticket": ticket,
        "status_name": name,
        "status_tone": tone,
        "section": "tickets",
    }
    allowed: dict[str, bool] = {}
    for key, action, build in TICKET_FORMS:
        if action not in allowed:
            allowed[action] = policies.allowed(principal, action, ticket)
        if allowed[action] and (it_view or key == "note_form"):
            context[key] = (bound or {}).get(key) or build(principal, ticket)
    if it_view:
        context.update(_it_ticket_context(principal, ticket))
        if "note_form" in context:
            context["canned_replies"] = list(
                config_queries.canned_replies(principal, ticket.tenant_id).values_list("pk", "name")
            )
        context.update(
            ticket_links_context(
                principal, ticket, labels=config_queries.status_labels(settings.statuses)
            )
        )
        template = "servicedesk/ticket_detail.html"
    else:
        context.update(_requester_ticket_context(principal, ticket))
        template = "servicedesk/ticket_detail_requester.html"
    context.update(extra or {})
    return render(request, template, context, status=status)


# --- The ticket page's related tickets, tags and watchers --------------------------------------


def ticket_links_context(
    principal: Principal, ticket: Ticket, *, labels: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """What the ticket page shows of the ticket's relations: the ticket it was merged into,
    those merged into it, its parent and children (with their status; ``labels`` is the
    tenant's ``{status: (name, tone)}``), its watchers, and the files the person may read.
    Related tickets the person does not see are left out (a hidden parent is only said to
    exist)."""
    visible = queries.tickets(principal)
    related = {
        t.pk: t
        for t in visible.filter(pk__in=[p for p in (ticket.parent_id, ticket.merged_into_id) if p])
    }
    children = list(visible.filter(parent_id=ticket.pk).order_by("number"))
    for child in children:
        name, tone = labels.get(child.status, (child.status, "muted"))
        child.status_name, child.status_tone = name, tone  # type: ignore[attr-defined]
    watchers = list(ticket.watchers.order_by("full_name", "email"))
    parent = related.get(ticket.parent_id or 0)
    if parent is not None:
        name, tone = labels.get(parent.status, (parent.status, "muted"))
        parent.status_name, parent.status_tone = name, tone  # type: ignore[attr-defined]
    return {
        "merged_into": related.get(ticket.merged_into_id or 0),
        "merged_here": list(visible.filter(merged_into_id=ticket.pk).order_by("number")),
        "parent": parent,
        "parent_hidden": ticket.parent_id is not None and parent is None,
        "children": children,
        "watchers": watchers,
        # The devices it names that the person may see (decision 0026).
        "devices": list(queries.ticket_devices(principal, ticket)),
        "watching": any(w.pk == principal.user_id for w in watchers),
        "attachments": list(queries.attachments(principal, ticket).order_by("id")),
        "may_attach": policies.allowed(principal, "servicedesk.comment_ticket", ticket),
        "tiers": (
            Visibility.choices
            if may_write_internal_notes(principal, ticket.tenant_id)
            else [(Visibility.PUBLIC.value, Visibility.PUBLIC.label)]
        ),
    }


def _parse_moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _duration(seconds: Any) -> str:
    """Business time as hours and minutes ("26h 30m"): days would suggest calendar days."""
    hours, minutes = divmod(int(seconds or 0) // 60, 60)
    if hours and minutes:
        return f"{hours}h {minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"
