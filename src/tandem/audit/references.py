"""Readable audit entries: the ids an entry's changes carry, named as the reader may see them.

Services record changes as ``{field: [before, after]}`` with ids (``party_id``,
``service_area_ids``) and structured values (a calendar's weekly hours, an SLA policy's
targets). The log page showed them raw: ``party_id 3 → 5``, Python dicts. Each app declares
which change fields point at which of its models (``register_reference`` in its
``AppConfig.ready``); this module names a page of entries with one query per kind of thing
on the page, each through the reader's own visibility rule for that model. What the reader
may not see stays a bare ``#id``, so the log reveals nothing the rest of the product hides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import Model

from tandem.audit.models import AuditEntry
from tandem.core.policies import allowed, visible
from tandem.core.principal import Principal

if TYPE_CHECKING:  # the log's tenant is passed in; audit imports no app's models
    from tandem.tenancy.models import Tenant

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Reference:
    """Change fields whose values are ids of one kind of thing, looked up in ``model``
    ("app.Model") by ``key_field`` and named by ``name_field``, among the rows ``action``
    lets the reader see (people are found through their visible memberships)."""

    kind: str
    model: str
    action: str
    name_field: str = "name"
    key_field: str = "pk"
    #: ``action`` is a permission on the tenant (desk configuration), not a row rule.
    whole_tenant: bool = False


#: The kind of the entries' actors: their names are known from the entries themselves.
USER = "user"

_FIELDS: dict[str, Reference] = {}


def register_reference(
    fields: Iterable[str],
    *,
    kind: str,
    model: str,
    action: str,
    name_field: str = "name",
    key_field: str = "pk",
    whole_tenant: bool = False,
) -> None:
    """Declare that these change fields (``party_id``, ``consulted_ids``) hold ids of one
    kind of thing. A field names one kind of thing across the whole product."""
    reference = Reference(
        kind=kind,
        model=model,
        action=action,
        name_field=name_field,
        key_field=key_field,
        whole_tenant=whole_tenant,
    )
    for name in fields:
        known = _FIELDS.get(name)
        if known is not None and known != reference:
            raise RuntimeError(f"audit field {name!r} already refers to {known.model}")
        _FIELDS[name] = reference


@dataclass(frozen=True)
class ChangeRow:
    """One line of an entry's diff: ``label: before → after`` (``before`` None when the
    field was set for the first time)."""

    field: str
    label: str
    before: str | None
    after: str


@dataclass(frozen=True)
class ReadableEntry:
    entry: AuditEntry
    actor_name: str
    target_kind: str
    changes: list[ChangeRow]


def field_label(name: str) -> str:
    """``service_area_ids`` → "Service areas", ``party_id`` → "Party"."""
    base = name
    plural = False
    if base.endswith("_ids"):
        base, plural = base[:-4], True
    elif base.endswith("_id"):
        base = base[:-3]
    words = base.replace("_", " ").strip() or name
    text = words[:1].upper() + words[1:]
    return text + "s" if plural and not text.endswith("ed") else text


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _hours(value: Any) -> str | None:
    """``[["08:30", "17:30"]]`` → "08:30–17:30" (a calendar day's opening hours)."""
    if isinstance(value, list) and all(
        isinstance(span, list | tuple) and len(span) == 2 and all(isinstance(t, str) for t in span)
        for span in value
    ):
        return ", ".join(f"{a}–{b}" for a, b in value) or "closed"
    return None


def plain(value: Any, *, depth: int = 0) -> str:
    """A JSON value as text a person reads: no brackets, braces or quotes."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        keys = list(value)
        # A calendar's week: weekday numbers to opening hours (not an SLA's priorities).
        weekly = bool(keys) and all(
            str(k) in {"0", "1", "2", "3", "4", "5", "6"} and _hours(v) is not None
            for k, v in value.items()
        )
        parts = []
        for key, inner in value.items():
            label = WEEKDAYS[int(key)] if weekly else field_label(str(key)).lower()
            shown = _hours(inner) if weekly else plain(inner, depth=depth + 1)
            parts.append(f"{label} {shown}" if depth else f"{label}: {shown}")
        return ("; " if depth == 0 else ", ").join(parts)
    if isinstance(value, list | tuple):
        hours = _hours(list(value))
        if hours is not None:
            return hours
        return ", ".join(plain(v, depth=depth + 1) for v in value)
    return str(value)


def _names(
    principal: Principal,
    tenant: Tenant | None,
    wanted: dict[Reference, set[int]],
    found: dict[tuple[str, int], str],
) -> None:
    """Adds ``{(kind, id): name}`` to ``found``: one query per kind on the page, through
    ``visible`` and within the tenant of the log."""
    for reference, ids in wanted.items():
        ids = {i for i in ids if (reference.kind, i) not in found}
        if not ids:
            continue
        model: type[Model] = apps.get_model(reference.model)
        rows = model._default_manager.filter(**{f"{reference.key_field}__in": sorted(ids)})
        if tenant is not None and any(f.name == "tenant" for f in model._meta.fields):
            rows = rows.filter(tenant_id=tenant.pk)
        if reference.whole_tenant:
            if tenant is None or not allowed(principal, reference.action, tenant):
                continue
        else:
            rows = visible(principal, reference.action, rows)
        pairs = rows.order_by().values_list(reference.key_field, reference.name_field)
        for key, name in pairs:
            if name:
                found[(reference.kind, key)] = str(name)


def _shown(value: Any, reference: Reference | None, names: dict[tuple[str, int], str]) -> str:
    if reference is None or not _ids(value):
        return plain(value)
    values = value if isinstance(value, list | tuple) else [value]
    return (
        ", ".join(
            names.get((reference.kind, v), f"#{v}") if isinstance(v, int) else plain(v)
            for v in values
        )
        or "—"
    )


def _kind(target_type: str) -> str:
    try:
        verbose = apps.get_model(target_type)._meta.verbose_name
    except (LookupError, ValueError):
        return target_type
    return str(verbose)[:1].upper() + str(verbose)[1:]


def readable(
    principal: Principal, tenant: Tenant | None, entries: Sequence[AuditEntry]
) -> list[ReadableEntry]:
    """The entries of one page, named: actors by their full name (the entry is visible, so
    is who made it), targets by kind, changes with names for ids. Queries: one per kind of
    referenced thing present on the page, whatever the number of entries."""
    wanted: dict[Reference, set[int]] = {}
    for entry in entries:
        if not isinstance(entry.changes, dict):
            continue
        for name, pair in entry.changes.items():
            reference = _FIELDS.get(name)
            if reference is None:
                continue
            values = pair if isinstance(pair, list | tuple) and len(pair) == 2 else [None, pair]
            for value in values:
                wanted.setdefault(reference, set()).update(_ids(value))
    # The actors' names come with the entries (select_related): no query, and a person
    # named as an actor elsewhere on the page is named the same in a change.
    names: dict[tuple[str, int], str] = {
        (USER, e.actor_id): e.actor.full_name or e.actor.email
        for e in entries
        if e.actor_id is not None and e.actor is not None
    }
    _names(principal, tenant, wanted, names)
    result = []
    for entry in entries:
        rows = []
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        for name, pair in sorted(changes.items()):
            before, after = (
                pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
            )
            reference = _FIELDS.get(name)
            rows.append(
                ChangeRow(
                    field=name,
                    label=field_label(name),
                    before=None if before is None else _shown(before, reference, names),
                    after=_shown(after, reference, names),
                )
            )
        actor_name = names.get((USER, entry.actor_id or 0), entry.actor_label)
        result.append(
            ReadableEntry(
                entry=entry,
                actor_name=actor_name,
                target_kind=_kind(entry.target_type),
                changes=rows,
            )
        )
    return result
