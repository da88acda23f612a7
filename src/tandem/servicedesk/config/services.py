"""Writes of a tenant's desk configuration: categories, priority matrix, workflow statuses,
thresholds, mail senders and canned replies. Keyword-only, actor first, audited."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Model, Q, QuerySet

from tandem.audit.services import diff, record_audit
from tandem.core import policies
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_name, clean_text
from tandem.servicedesk.choices import (
    DEFAULT_PRIORITY_MATRIX,
    DEFAULT_STATUSES,
    MAX_REOPEN_DAYS,
    MailSenderPolicy,
    StatusKind,
)
from tandem.servicedesk.config.models import CannedReply, Category, DeskSettings
from tandem.servicedesk.config.queries import CHANGE
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.mail import parsing as mail_parsing
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import (
    Ticket,
    TicketEvent,
)
from tandem.servicedesk.tickets.services import _in_tenant
from tandem.sla.models import SlaPolicy
from tandem.sla.priority import PriorityMatrix
from tandem.tenancy.models import ServiceArea, Tenant

# --- Categories, calendars, SLA policies, coverage ------------------------------------------


def create_category(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    service_area_id: int,
    description: str = "",
    form_fields: list[dict[str, Any]] | None = None,
) -> Category:
    """A category requesters pick in the portal, mapped to a service area."""
    authorize(actor, "servicedesk.change_matrix", tenant)
    name = clean_name(name)
    with transaction.atomic(), within_tenant(tenant.pk):
        area = _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id")
        if Category.objects.filter(tenant=tenant, name__iexact=name).exists():
            raise Conflict(f"A category named {name!r} already exists.")
        category = Category.objects.create(
            tenant=tenant,
            name=name,
            service_area=area,
            description=clean_text(description, field="description", max_length=2000),
            form_fields=_clean_form_fields(form_fields or []),
        )
        record_audit(
            actor=actor,
            action="servicedesk.create_category",
            target=category,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": name, "service_area_id": area.pk}),
        )
    return category


def _clean_form_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    require(len(fields) <= 20, "form_fields", "At most 20 extra questions.")
    cleaned = []
    for index, field_spec in enumerate(fields):
        where = f"form_fields[{index}]"
        require(isinstance(field_spec, dict), where, "Each question is an object.")
        kind = field_spec.get("type", "text")
        require(kind in ("text", "textarea", "choice"), where, "type is text, textarea or choice.")
        choices = [
            clean_name(str(c), field=where, max_length=100) for c in field_spec.get("choices", [])
        ]
        require(kind != "choice" or bool(choices), where, "A choice question needs choices.")
        cleaned.append(
            {
                "name": clean_name(str(field_spec.get("name", "")), field=where, max_length=40),
                "label": clean_name(str(field_spec.get("label", "")), field=where, max_length=120),
                "type": kind,
                "choices": choices,
            }
        )
    return cleaned


MAX_CANNED_REPLY = 10_000


def _of_party(party_id: int | None) -> Q:
    """A party's own canned replies, or the tenant's (no party)."""
    return Q(party__isnull=True) if party_id is None else Q(party_id=party_id)


def create_canned_reply(
    *, actor: Principal, tenant: Tenant, name: str, body: str, shared: bool = False
) -> CannedReply:
    """Keep a named reply text: the actor's own party's (read by that party alone), or,
    ``shared``, the tenant's (read by its IT and every engaged provider; kept by the
    tenant's IT only)."""
    accesses = [
        a
        for a in actor.accesses_with("servicedesk.change_cannedreply", tenant.pk)
        if a.party_id is not None
    ]
    if not accesses:
        raise PermissionDenied("Only IT people keep canned replies.")
    if shared and not any(a.provider_id is None for a in accesses):
        raise PermissionDenied("Only the tenant's IT keeps the tenant's canned replies.")
    party_id = None if shared else min(a.party_id or 0 for a in accesses)
    name = clean_name(name, field="name", max_length=100)
    body = clean_text(body, field="body", max_length=MAX_CANNED_REPLY)
    require(bool(body), "body", "Write the reply.")
    with transaction.atomic(), within_tenant(tenant.pk):
        if CannedReply.objects.filter(
            _of_party(party_id), tenant=tenant, name__iexact=name
        ).exists():
            raise Conflict(f"A canned reply named {name!r} exists already.")
        reply = CannedReply.objects.create(tenant=tenant, party_id=party_id, name=name, body=body)
        record_audit(
            actor=actor,
            action="servicedesk.create_canned_reply",
            target=reply,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": name, "party_id": party_id}),
        )
    return reply


def update_canned_reply(
    *, actor: Principal, reply: CannedReply, name: str | None = None, body: str | None = None
) -> CannedReply:
    """Rename a canned reply or change its text."""
    authorize(actor, "servicedesk.change_cannedreply", reply)
    before = {"name": reply.name, "body": reply.body}
    if name is not None:
        reply.name = clean_name(name, field="name", max_length=100)
    if body is not None:
        reply.body = clean_text(body, field="body", max_length=MAX_CANNED_REPLY)
        require(bool(reply.body), "body", "Write the reply.")
    with transaction.atomic(), within_tenant(reply.tenant_id):
        clash = CannedReply.objects.filter(
            _of_party(reply.party_id), tenant_id=reply.tenant_id, name__iexact=reply.name
        ).exclude(pk=reply.pk)
        if clash.exists():
            raise Conflict(f"A canned reply named {reply.name!r} exists already.")
        reply.save()
        record_audit(
            actor=actor,
            action="servicedesk.update_canned_reply",
            target=reply,
            tenant_id=reply.tenant_id,
            changes=diff(before, {"name": reply.name, "body": reply.body}),
        )
    return reply


def delete_canned_reply(*, actor: Principal, reply: CannedReply) -> None:
    """Remove a canned reply (notes written with it keep their text)."""
    authorize(actor, "servicedesk.change_cannedreply", reply)
    with transaction.atomic(), within_tenant(reply.tenant_id):
        record_audit(
            actor=actor,
            action="servicedesk.delete_canned_reply",
            target=reply,
            tenant_id=reply.tenant_id,
            changes={"name": [reply.name, None]},
        )
        reply.delete()


#: Ticket numbers of impact, urgency and priority are 1..9 in the API and in SLA targets.
MAX_LEVELS = 9
#: The portal asks impact and urgency in three plain-word levels (1..3).
MIN_LEVELS = 3
MAX_STATUSES = 20
STATUS_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
QUESTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
QUESTION_TYPES = ("text", "textarea", "choice")
MAX_QUESTIONS = 20
MAX_CHOICES = 50
#: Longest ping-pong window: thirty days.
MAX_PING_PONG_MINUTES = 30 * 24 * 60
#: Mail domains one tenant may declare.
MAX_MAIL_DOMAINS = 50


class _Keep:
    """The default of an optional argument whose ``None`` means something ("all areas")."""

    def __repr__(self) -> str:
        return "KEEP"


#: "Leave this as it is" for arguments where ``None`` is a value of its own.
KEEP: Any = _Keep()


def _fields(row: Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def _sentence(message: str) -> str:
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


# --- Categories -------------------------------------------------------------------------------

CATEGORY_FIELDS = ("name", "service_area_id", "description", "form_fields")
_QUESTION_KEYS = {"name", "label", "type", "choices", "required"}


def clean_form_fields(fields: Any) -> list[dict[str, Any]]:
    """A category's extra portal questions, each ``{"name", "label", "type", "choices",
    "required"}``: names are unique lower-case identifiers, types text, textarea or
    choice; a choice question needs choices and only it may have them."""
    fields = [] if fields is None else fields
    require(isinstance(fields, list | tuple), "form_fields", "A list of questions.")
    require(len(fields) <= MAX_QUESTIONS, "form_fields", f"At most {MAX_QUESTIONS} questions.")
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, spec in enumerate(fields, start=1):
        where = f"Question {index}"
        require(isinstance(spec, Mapping), "form_fields", f"{where}: an object.")
        unknown = sorted(set(spec) - _QUESTION_KEYS)
        require(not unknown, "form_fields", f"{where}: unknown keys {', '.join(unknown)}.")
        name = spec.get("name")
        require(
            isinstance(name, str) and bool(QUESTION_NAME.match(name.strip())),
            "form_fields",
            f"{where}: the name is 1 to 40 lower-case letters, digits and underscores, "
            "starting with a letter.",
        )
        name = name.strip()
        require(name not in seen, "form_fields", f"{where}: the name {name!r} is used twice.")
        seen.add(name)
        label = spec.get("label", "")
        require(isinstance(label, str) and bool(label.strip()), "form_fields", f"{where}: a label.")
        label = clean_name(label, field="form_fields", max_length=120)
        kind = spec.get("type", "text")
        require(
            kind in QUESTION_TYPES,
            "form_fields",
            f"{where}: the type is {', '.join(QUESTION_TYPES)}.",
        )
        choices = spec.get("choices") or []
        require(
            isinstance(choices, list | tuple) and all(isinstance(c, str) for c in choices),
            "form_fields",
            f"{where}: choices are a list of texts.",
        )
        choices = [clean_name(c, field="form_fields", max_length=100) for c in choices]
        require(len(choices) == len(set(choices)), "form_fields", f"{where}: a choice is repeated.")
        require(len(choices) <= MAX_CHOICES, "form_fields", f"{where}: at most 50 choices.")
        if kind == "choice":
            require(bool(choices), "form_fields", f"{where}: a choice question needs choices.")
        else:
            require(not choices, "form_fields", f"{where}: only choice questions have choices.")
        required = spec.get("required", True)
        require(isinstance(required, bool), "form_fields", f"{where}: required is true or false.")
        cleaned.append(
            {"name": name, "label": label, "type": kind, "choices": choices, "required": required}
        )
    return cleaned


def add_category(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    service_area_id: int,
    description: str = "",
    form_fields: list[dict[str, Any]] | None = None,
) -> Category:
    """Create a category through ``create_category``, with its questions validated
    here in full. That service keeps only name, label, type and choices of each question, so
    the complete questions (with ``required``) are then set as an audited change in the same
    transaction."""
    policies.authorize(actor, CHANGE, tenant)
    questions = clean_form_fields(form_fields)
    with transaction.atomic():
        category = create_category(
            actor=actor,
            tenant=tenant,
            name=name,
            service_area_id=service_area_id,
            description=description,
        )
        if questions:
            category = update_category(actor=actor, category=category, form_fields=questions)
    return category


def update_category(
    *,
    actor: Principal,
    category: Category,
    name: str | None = None,
    service_area_id: int | None = None,
    description: str | None = None,
    form_fields: list[dict[str, Any]] | None = None,
) -> Category:
    """Change a category's name, service area, description or portal questions. Tickets
    opened under it keep the service area they were routed with."""
    tenant = category.tenant
    policies.authorize(actor, CHANGE, tenant)
    before = _fields(category, CATEGORY_FIELDS)
    after: dict[str, Any] = {
        "name": clean_name(name) if name is not None else category.name,
        "service_area_id": service_area_id
        if service_area_id is not None
        else category.service_area_id,
        "description": clean_text(description, field="description", max_length=2000)
        if description is not None
        else category.description,
        "form_fields": clean_form_fields(form_fields)
        if form_fields is not None
        else category.form_fields,
    }
    changes = diff(before, after)
    if not changes:
        return category
    with transaction.atomic(), within_tenant(tenant.pk):
        area = ticket_services._in_tenant(
            ServiceArea, tenant.pk, after["service_area_id"], "service_area_id"
        )
        clash = Category.objects.filter(tenant=tenant, name__iexact=after["name"]).exclude(
            pk=category.pk
        )
        if clash.exists():
            raise Conflict(f"A category named {after['name']!r} already exists.")
        category.name = after["name"]
        category.service_area = area
        category.description = after["description"]
        category.form_fields = after["form_fields"]
        category.save()
        record_audit(
            actor=actor,
            action="servicedesk.change_category",
            target=category,
            tenant_id=tenant.pk,
            changes=changes,
        )
    return category


def retire_category(*, actor: Principal, category: Category) -> Category:
    """Stop offering a category (the portal and the new-ticket form no longer list it).
    Its tickets keep it; it can be offered again."""
    return _set_category_active(actor=actor, category=category, active=False)


def reactivate_category(*, actor: Principal, category: Category) -> Category:
    """Offer a retired category again."""
    return _set_category_active(actor=actor, category=category, active=True)


def _set_category_active(*, actor: Principal, category: Category, active: bool) -> Category:
    tenant = category.tenant
    policies.authorize(actor, CHANGE, tenant)
    if category.is_active == active:
        state = "offered" if active else "retired"
        raise Conflict(f"The category “{category.name}” is {state} already.")
    with transaction.atomic(), within_tenant(tenant.pk):
        category.is_active = active
        category.save()
        record_audit(
            actor=actor,
            action="servicedesk.reactivate_category" if active else "servicedesk.retire_category",
            target=category,
            tenant_id=tenant.pk,
            changes=diff({"is_active": not active}, {"is_active": active}),
        )
    return category


# --- Desk settings: priority matrix, status workflow, thresholds ------------------------------


def set_up_desk(*, tenant: Tenant) -> DeskSettings:
    """A new tenant's desk settings row, with the default matrix and workflow.

    Runs inside ``tenancy.services.create_tenant``'s transaction (the desk registers it with
    ``register_tenant_set_up``), which audits the tenant: every tenant has its row from its
    first moment, so reading the settings (``desk_config.desk_settings``) never writes.
    """
    with within_tenant(tenant.pk):
        return DeskSettings.objects.create(
            tenant=tenant,
            priority_matrix=DEFAULT_PRIORITY_MATRIX,
            statuses=[list(s) for s in DEFAULT_STATUSES],
        )


def _locked_settings(tenant: Tenant) -> DeskSettings:
    """The tenant's settings row, locked until the transaction ends, so two edits of the
    settings (or an edit and a new ticket's number) never interleave."""
    found = desk_settings(tenant.pk)
    return DeskSettings.objects.select_for_update().get(pk=found.pk)


def _open_tickets(tenant: Tenant) -> QuerySet[Ticket]:
    return Ticket.objects.filter(tenant=tenant, resolved_at__isnull=True, closed_at__isnull=True)


def _clean_labels(values: Any, field: str, *, low: int, high: int, what: str) -> list[str]:
    require(
        isinstance(values, list | tuple) and all(isinstance(v, str) for v in values),
        field,
        f"A list of {what} names, most severe first.",
    )
    require(low <= len(values) <= high, field, f"Between {low} and {high} {what}s.")
    labels = [clean_name(v, field=field, max_length=40) for v in values]
    repeated = sorted({v for v in labels if labels.count(v) > 1})
    require(not repeated, field, f"Repeated: {', '.join(repeated)}.")
    return labels


def clean_priority_matrix(
    *, impacts: Any, urgencies: Any, priorities: Any, grid: Any
) -> dict[str, list[Any]]:
    """The stored form of a priority matrix, proven by ``sla.priority.PriorityMatrix``:
    labels most severe first, one grid row per urgency and one cell per impact, and never a
    lower priority for a higher impact or urgency."""
    cleaned_impacts = _clean_labels(
        impacts, "impacts", low=MIN_LEVELS, high=MAX_LEVELS, what="impact"
    )
    cleaned_urgencies = _clean_labels(
        urgencies, "urgencies", low=MIN_LEVELS, high=MAX_LEVELS, what="urgency"
    )
    cleaned_priorities = _clean_labels(
        priorities, "priorities", low=1, high=MAX_LEVELS, what="priority"
    )
    require(
        isinstance(grid, list | tuple)
        and all(
            isinstance(row, list | tuple) and all(isinstance(c, str) for c in row) for row in grid
        ),
        "grid",
        "One row per urgency, each a list of priorities (one per impact).",
    )
    cleaned_grid = [[cell.strip() for cell in row] for row in grid]
    try:
        PriorityMatrix(
            impacts=tuple(cleaned_impacts),
            urgencies=tuple(cleaned_urgencies),
            priorities=tuple(cleaned_priorities),
            grid=tuple(tuple(row) for row in cleaned_grid),
        )
    except ValueError as exc:
        raise InvalidInput({"grid": [_sentence(str(exc))]}) from exc
    return {
        "impacts": cleaned_impacts,
        "urgencies": cleaned_urgencies,
        "priorities": cleaned_priorities,
        "grid": cleaned_grid,
    }


def set_priority_matrix(
    *,
    actor: Principal,
    tenant: Tenant,
    impacts: list[str],
    urgencies: list[str],
    priorities: list[str],
    grid: list[list[str]],
) -> DeskSettings:
    """Replace the tenant's impact x urgency -> priority matrix (any N x M from 3 x 3 to
    9 x 9). New tickets and reprioritised ones use it; open tickets keep their priority, so
    the matrix must still hold their levels."""
    policies.authorize(actor, CHANGE, tenant)
    matrix = clean_priority_matrix(
        impacts=impacts, urgencies=urgencies, priorities=priorities, grid=grid
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        settings = _locked_settings(tenant)
        changes = diff({"priority_matrix": settings.priority_matrix}, {"priority_matrix": matrix})
        if not changes:
            return settings
        require(
            settings.urgent_priority_max <= len(matrix["priorities"]),
            "priorities",
            f"Urgent tickets are P1 to P{settings.urgent_priority_max} (desk thresholds); "
            f"keep at least {settings.urgent_priority_max} priorities or lower that first.",
        )
        _require_open_tickets_fit(tenant, matrix)
        settings.priority_matrix = matrix
        settings.save(update_fields=["priority_matrix", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.change_priority_matrix",
            target=settings,
            tenant_id=tenant.pk,
            changes=changes,
        )
    return settings


def _require_open_tickets_fit(tenant: Tenant, matrix: dict[str, list[Any]]) -> None:
    """Open tickets store impact, urgency and priority as level numbers: a smaller matrix
    must still hold them, or they could not be shown or reprioritised."""
    limits = {
        "priority": ("priorities", len(matrix["priorities"])),
        "impact": ("impacts", len(matrix["impacts"])),
        "urgency": ("urgencies", len(matrix["urgencies"])),
    }
    for level, (field, count) in limits.items():
        above = _open_tickets(tenant).filter(**{f"{level}__gt": count}).count()
        if above:
            raise Conflict(
                f"{above} open ticket{'s' if above != 1 else ''} "
                f"{'have' if above != 1 else 'has'} a {level} above {count}; keep at least "
                f"that many {field} until {'they are' if above != 1 else 'it is'} resolved "
                "or reprioritised."
            )


def clean_statuses(statuses: Any) -> list[list[str]]:
    """The stored form of a workflow, ``[[key, name, kind], ...]`` in display order: unique
    lower-case keys and names, known kinds, a first status of kind new (where tickets
    start), and at least one resolved and one closed status."""
    require(
        isinstance(statuses, list | tuple),
        "statuses",
        "A list of statuses, each [key, name, kind] or {key, name, kind}.",
    )
    require(
        3 <= len(statuses) <= MAX_STATUSES, "statuses", f"Between 3 and {MAX_STATUSES} statuses."
    )
    cleaned: list[list[str]] = []
    for index, entry in enumerate(statuses, start=1):
        if isinstance(entry, Mapping):
            entry = [entry.get("key"), entry.get("name"), entry.get("kind")]
        require(
            isinstance(entry, list | tuple)
            and len(entry) == 3
            and all(isinstance(part, str) for part in entry),
            "statuses",
            f"Status {index}: give a key, a name and a kind.",
        )
        key, name, kind = (part.strip() for part in entry)
        require(
            bool(STATUS_KEY.match(key)),
            "statuses",
            f"Status {index}: the key is 1 to 40 lower-case letters, digits and inner hyphens, "
            f"not {key!r}.",
        )
        name = clean_name(name, field="statuses", max_length=60)
        require(
            kind in StatusKind.values,
            "statuses",
            f"{name}: the kind is one of {', '.join(StatusKind.values)}.",
        )
        cleaned.append([key, name, kind])
    keys = [key for key, _name, _kind in cleaned]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    require(not repeated, "statuses", f"Keys are repeated: {', '.join(repeated)}.")
    names = [name.casefold() for _key, name, _kind in cleaned]
    repeated = sorted({n for n in names if names.count(n) > 1})
    require(not repeated, "statuses", f"Names are repeated: {', '.join(repeated)}.")
    kinds = {kind for _key, _name, kind in cleaned}
    missing = [
        k for k in (StatusKind.NEW, StatusKind.RESOLVED, StatusKind.CLOSED) if k not in kinds
    ]
    require(
        not missing,
        "statuses",
        "A workflow needs a status of each kind new, resolved and closed; "
        f"none is {', '.join(str(k) for k in missing)}.",
    )
    require(
        cleaned[0][2] == StatusKind.NEW,
        "statuses",
        "The first status is where new tickets start: it must be of kind new.",
    )
    return cleaned


def set_statuses(
    *, actor: Principal, tenant: Tenant, statuses: list[list[str]] | list[dict[str, str]]
) -> DeskSettings:
    """Replace the status workflow: rename, reorder, add, and remove statuses.

    A status's key is its identity and is permanent once any ticket has had it (now or in
    its history): such a status can be renamed and moved, not removed. Removing one that
    tickets hold now, or that an SLA policy pauses on, is refused with what to do first; so
    is changing the kind of a status tickets hold now (their resolved or closed state would
    no longer match it).
    """
    policies.authorize(actor, CHANGE, tenant)
    workflow = clean_statuses(statuses)
    with transaction.atomic(), within_tenant(tenant.pk):
        settings = _locked_settings(tenant)
        changes = diff({"statuses": settings.statuses}, {"statuses": workflow})
        if not changes:
            return settings
        old = {key: (name, kind) for key, name, kind in settings.statuses}
        new = {key: kind for key, _name, kind in workflow}
        removed = [key for key in old if key not in new]
        held = dict(
            Ticket.objects.filter(tenant=tenant, status__in=list(old))
            .values_list("status")
            .annotate(count=Count("pk"))
            .values_list("status", "count")
        )
        for key in removed:
            if held.get(key):
                count = held[key]
                raise Conflict(
                    f"“{old[key][0]}” ({key}) is the status of {count} "
                    f"ticket{'s' if count != 1 else ''}: move "
                    f"{'them' if count != 1 else 'it'} to another status before removing it."
                )
        historic = set(
            TicketEvent.objects.filter(tenant=tenant, status__in=removed).values_list(
                "status", flat=True
            )
        )
        if historic:
            key = sorted(historic)[0]
            raise Conflict(
                f"“{old[key][0]}” ({key}) appears in tickets' history: a status key is "
                "permanent once used. Rename the status or move it instead of removing it."
            )
        for policy in SlaPolicy.objects.filter(tenant=tenant):
            paused = sorted(
                {s for keys in policy.pause_statuses.values() for s in keys} & set(removed)
            )
            if paused:
                raise Conflict(
                    f"The SLA policy “{policy.name}” pauses on {', '.join(paused)}: take "
                    "it out of the policy's pause statuses before removing it."
                )
        for key, (name, kind) in old.items():
            if key in new and new[key] != kind and held.get(key):
                raise Conflict(
                    f"{held[key]} ticket{'s are' if held[key] != 1 else ' is'} in “{name}”: "
                    f"its kind cannot change from {kind} to {new[key]} while tickets hold it."
                )
        settings.statuses = workflow
        settings.save(update_fields=["statuses", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.change_statuses",
            target=settings,
            tenant_id=tenant.pk,
            changes=changes,
        )
    return settings


def set_desk_thresholds(
    *,
    actor: Principal,
    tenant: Tenant,
    urgent_priority_max: int | None = None,
    ping_pong_minutes: int | None = None,
    reopen_days: int | None = None,
) -> DeskSettings:
    """Change the desk's thresholds: which priorities count as urgent (routed to whoever is
    on duty out of hours), how soon a handoff back counts as ping-pong, and for how many days
    after its resolution a requester's reply reopens a ticket. New tickets, handoffs and
    replies use them; nothing already routed moves. ``None`` leaves a threshold as it is."""
    policies.authorize(actor, CHANGE, tenant)
    for field, value, low, high in (
        ("urgent_priority_max", urgent_priority_max, 1, MAX_LEVELS),
        ("ping_pong_minutes", ping_pong_minutes, 1, MAX_PING_PONG_MINUTES),
        ("reopen_days", reopen_days, 0, MAX_REOPEN_DAYS),
    ):
        require(
            value is None
            or (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high),
            field,
            f"A whole number from {low} to {high}.",
        )
    fields = ("urgent_priority_max", "ping_pong_minutes", "reopen_days")
    with transaction.atomic(), within_tenant(tenant.pk):
        settings = _locked_settings(tenant)
        before = _fields(settings, fields)
        asked = {
            "urgent_priority_max": urgent_priority_max,
            "ping_pong_minutes": ping_pong_minutes,
            "reopen_days": reopen_days,
        }
        after: dict[str, Any] = {
            field: before[field] if asked[field] is None else asked[field] for field in fields
        }
        count = len(settings.priority_matrix["priorities"])
        require(
            after["urgent_priority_max"] <= count,
            "urgent_priority_max",
            f"The priority matrix has {count} priorities (P1 to P{count}).",
        )
        changes = diff(before, after)
        if not changes:
            return settings
        for field in fields:
            setattr(settings, field, after[field])
        settings.save(update_fields=[*fields, "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.change_desk_thresholds",
            target=settings,
            tenant_id=tenant.pk,
            changes=changes,
        )
    return settings


def set_mail_senders(
    *,
    actor: Principal,
    tenant: Tenant,
    sender_policy: str,
    mail_domains: Sequence[str] = (),
) -> DeskSettings:
    """Who may open tickets by writing to the desk: its members only, also anyone from the
    tenant's mail domains, or anyone (a requester is created on first mail). Mail outside
    the policy waits on the mail review until an owner accepts the sender. The domains are
    the tenant's own, declared here by its owners (the ``domains`` policy needs one)."""
    policies.authorize(actor, CHANGE, tenant)
    require(
        sender_policy in MailSenderPolicy.values,
        "sender_policy",
        "Use one of: " + ", ".join(MailSenderPolicy.values) + ".",
    )
    require(
        isinstance(mail_domains, list | tuple) and len(mail_domains) <= MAX_MAIL_DOMAINS,
        "mail_domains",
        f"At most {MAX_MAIL_DOMAINS} domains.",
    )
    domains: list[str] = []
    for raw in mail_domains:
        domain = mail_parsing.normal_domain(raw) if isinstance(raw, str) else ""
        require(bool(domain), "mail_domains", f"Not a domain name: {str(raw)[:100]!r}.")
        require(
            domain != mail_parsing.normal_domain(django_settings.MAIL_DOMAIN),
            "mail_domains",
            "The desk's own mail domain cannot be a sender domain.",
        )
        if domain not in domains:
            domains.append(domain)
    require(
        sender_policy != MailSenderPolicy.DOMAINS or bool(domains),
        "mail_domains",
        "Name at least one of the tenant's mail domains for this policy.",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        settings = _locked_settings(tenant)
        before = _fields(settings, ("mail_sender_policy", "mail_domains"))
        after = {"mail_sender_policy": sender_policy, "mail_domains": domains}
        changes = diff(before, after)
        if not changes:
            return settings
        settings.mail_sender_policy, settings.mail_domains = sender_policy, domains
        settings.save(update_fields=["mail_sender_policy", "mail_domains", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.change_mail_senders",
            target=settings,
            tenant_id=tenant.pk,
            changes=changes,
        )
    return settings
