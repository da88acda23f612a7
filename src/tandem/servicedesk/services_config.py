"""The desk-configuration edits: calendars, SLA policies, coverage, categories, the priority
matrix, the status workflow and the desk thresholds.

Creating calendars, policies, coverage and categories lives in ``services.py``
(``create_calendar``, ``create_sla_policy``, ``add_coverage``, ``create_category``); this
module holds everything after that: update, delete or retire, activate and deactivate, and
the three parts of ``DeskSettings``. Decision 0010 explains the choices (retire rather than
delete for SLA policies and categories, which status keys are permanent).

Every write follows the house rules: keyword-only, actor first, ``authorize`` with the same
action the creating services use (``servicedesk.change_matrix``: the tenant's owners), full
validation before anything is written, one transaction with its audit entry (a diff), a
``MatrixVersion`` snapshot when coverage changes, and the open tickets' SLA clocks
recomputed after commit when calendars, policies or coverage change.

Writes go through ``Model.save()``/``delete()`` only, never ``QuerySet.update()`` or
``bulk_update``: the cached desk configuration (``desk_config.py``) is invalidated by the
signals those send. An edit that changes nothing writes nothing and records nothing.

At the end, the read helpers that the API and the pages share: finding a configuration
object through the principal (another tenant's object is 404) and the lists a provider may
read (only its own SLA terms).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, Model, QuerySet
from django.http import Http404
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core import policies
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_country, clean_name, clean_text, clean_time_zone
from tandem.servicedesk import mail, services
from tandem.servicedesk.choices import MAX_REOPEN_DAYS, MailSenderPolicy, StatusKind
from tandem.servicedesk.models import (
    Category,
    Coverage,
    DeskSettings,
    Ticket,
    TicketEvent,
)
from tandem.servicedesk.sla_bridge import desk_settings, to_business_calendar
from tandem.sla.calendar import BusinessCalendar, public_holidays
from tandem.sla.models import Calendar, SlaPolicy
from tandem.sla.priority import PriorityMatrix
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import Party, ServiceArea, Tenant

#: The action every write here is authorized with: the one the creating services use.
CHANGE = "servicedesk.change_matrix"
#: The action the reads use: the tenant's IT and its providers.
VIEW = "servicedesk.view_matrix"

METRICS = services.METRICS
WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: A year and a day of business minutes: longer targets are typos.
MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_DATES = 400
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


def _recompute_after_commit(tenant_id: int) -> None:
    services._recompute_open_tickets_after_commit(tenant_id)


# --- Calendars --------------------------------------------------------------------------------

CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "weekly",
    "holiday_country",
    "holiday_subdivision",
    "custom_holidays",
    "special_days",
)
#: The fields that decide when a calendar is open (a new name changes no due date).
CALENDAR_HOURS = CALENDAR_FIELDS[1:]


def _clean_intervals(value: Any, *, field: str, where: str) -> list[list[str]]:
    """``[["08:00", "12:00"], ...]`` as strings; times and overlaps are checked by the pure
    calendar, whose messages name the weekday or date."""
    require(
        isinstance(value, list | tuple),
        field,
        f'{where}: give a list of [start, end] pairs such as ["08:00", "17:00"].',
    )
    intervals = []
    for pair in value:
        require(
            isinstance(pair, list | tuple)
            and len(pair) == 2
            and all(isinstance(t, str) for t in pair),
            field,
            f'{where}: each interval is a pair of times such as ["08:00", "17:00"].',
        )
        intervals.append([pair[0].strip(), pair[1].strip()])
    return sorted(intervals)


def _clean_date(value: Any, *, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        parsed = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        parsed = None
    require(parsed is not None, field, f"{value!r} is not a date (YYYY-MM-DD).")
    return text


def _check_holidays(country: str, subdivision: str) -> str:
    """The subdivision as the ``holidays`` package knows it (codes are case-sensitive:
    "BY", but "Augsburg"); unknown countries or subdivisions are refused."""
    if not country:
        require(not subdivision, "holiday_subdivision", "A subdivision needs a country.")
        return ""
    years = [timezone.now().year]
    try:
        public_holidays(country, None, years=years)
    except ValueError as exc:
        raise InvalidInput(
            {"holiday_country": [f"No public holidays are known for {country!r}."]}
        ) from exc
    if not subdivision:
        return ""
    for candidate in dict.fromkeys((subdivision, subdivision.upper())):
        try:
            public_holidays(country, candidate, years=years)
        except ValueError:
            continue
        return candidate
    raise InvalidInput(
        {"holiday_subdivision": [f"{subdivision!r} is not a subdivision of {country}."]}
    )


def clean_calendar(
    *,
    name: str,
    time_zone: str,
    weekly: Any,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    custom_holidays: Any = (),
    special_days: Any = None,
) -> dict[str, Any]:
    """A calendar's fields, normalised and proven to build (the pure calendar validates
    intervals, overlaps and the time zone). Raises ``InvalidInput`` naming the field."""
    cleaned_name = clean_name(name)
    zone = clean_time_zone(time_zone)
    require(isinstance(weekly, Mapping), "weekly", 'Map weekdays ("0" = Monday) to intervals.')
    unknown = sorted(str(day) for day in weekly if day not in WEEKDAYS)
    require(not unknown, "weekly", f'Weekdays are "0" (Monday) to "6" (Sunday), not {unknown}.')
    hours = {
        day: _clean_intervals(weekly[day], field="weekly", where=WEEKDAY_NAMES[int(day)])
        for day in WEEKDAYS
        if weekly.get(day)
    }
    try:
        BusinessCalendar(
            time_zone=zone,
            weekly={int(day): [(a, b) for a, b in spans] for day, spans in hours.items()},
        )
    except ValueError as exc:
        raise InvalidInput({"weekly": [_sentence(str(exc))]}) from exc

    country = clean_country(holiday_country or "", field="holiday_country")
    subdivision = (holiday_subdivision or "").strip()
    require(len(subdivision) <= 10, "holiday_subdivision", "At most 10 characters.")
    subdivision = _check_holidays(country, subdivision)

    custom = list(custom_holidays or [])
    require(len(custom) <= MAX_DATES, "custom_holidays", f"At most {MAX_DATES} dates.")
    days_off = sorted({_clean_date(day, field="custom_holidays") for day in custom})

    special_days = special_days or {}
    require(
        isinstance(special_days, Mapping),
        "special_days",
        "Map dates (YYYY-MM-DD) to that day's intervals ([] closes the day).",
    )
    require(len(special_days) <= MAX_DATES, "special_days", f"At most {MAX_DATES} dates.")
    special = {
        _clean_date(day, field="special_days"): _clean_intervals(
            spans, field="special_days", where=str(day)
        )
        for day, spans in sorted(special_days.items(), key=lambda item: str(item[0]))
    }
    try:
        BusinessCalendar(
            time_zone=zone,
            weekly={int(day): [(a, b) for a, b in spans] for day, spans in hours.items()},
            special_days={
                dt.date.fromisoformat(day): [(a, b) for a, b in spans]
                for day, spans in special.items()
            },
        )
    except ValueError as exc:
        raise InvalidInput({"special_days": [_sentence(str(exc))]}) from exc
    fields = {
        "name": cleaned_name,
        "time_zone": zone,
        "weekly": hours,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
        "custom_holidays": days_off,
        "special_days": special,
    }
    # The stored form must build exactly as the SLA engine will build it.
    try:
        to_business_calendar(Calendar(**fields))
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        raise InvalidInput({"weekly": [_sentence(str(exc))]}) from exc
    return fields


def add_calendar(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    time_zone: str,
    weekly: dict[str, list[list[str]]],
    holiday_country: str = "",
    holiday_subdivision: str = "",
    custom_holidays: list[str] | None = None,
    special_days: dict[str, list[list[str]]] | None = None,
) -> Calendar:
    """Create a calendar through ``services.create_calendar``, after the full validation of
    :func:`clean_calendar` (errors name the field: zone, weekday, holiday country, date)."""
    policies.authorize(actor, CHANGE, tenant)
    fields = clean_calendar(
        name=name,
        time_zone=time_zone,
        weekly=weekly,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
        custom_holidays=custom_holidays or [],
        special_days=special_days or {},
    )
    created: Calendar = services.create_calendar(actor=actor, tenant=tenant, **fields)
    return created


def _sentence(message: str) -> str:
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


def update_calendar(
    *,
    actor: Principal,
    calendar: Calendar,
    name: str | None = None,
    time_zone: str | None = None,
    weekly: dict[str, list[list[str]]] | None = None,
    holiday_country: str | None = None,
    holiday_subdivision: str | None = None,
    custom_holidays: list[str] | None = None,
    special_days: dict[str, list[list[str]]] | None = None,
) -> Calendar:
    """Change a calendar: its name, zone, weekly hours, holidays and special days. Arguments
    left ``None`` stay as they are. When the hours change, the open tickets of the tenant
    are recomputed after commit (a coverage entry or an SLA policy may use the calendar)."""
    tenant = calendar.tenant
    policies.authorize(actor, CHANGE, tenant)
    given: dict[str, Any] = {
        "name": name,
        "time_zone": time_zone,
        "weekly": weekly,
        "holiday_country": holiday_country,
        "holiday_subdivision": holiday_subdivision,
        "custom_holidays": custom_holidays,
        "special_days": special_days,
    }
    before = _fields(calendar, CALENDAR_FIELDS)
    merged: dict[str, Any] = {
        key: before[key] if value is None else value for key, value in given.items()
    }
    if holiday_country == "" and holiday_subdivision is None:
        merged["holiday_subdivision"] = ""  # no country, so no subdivision either
    after = clean_calendar(**merged)
    changes = diff(before, after)
    if not changes:
        return calendar
    with transaction.atomic(), within_tenant(tenant.pk):
        clash = Calendar.objects.filter(tenant=tenant, name__iexact=after["name"]).exclude(
            pk=calendar.pk
        )
        if clash.exists():
            raise Conflict(f"A calendar named {after['name']!r} already exists.")
        for key, value in after.items():
            setattr(calendar, key, value)
        calendar.save()
        record_audit(
            actor=actor,
            action="sla.change_calendar",
            target=calendar,
            tenant_id=tenant.pk,
            changes=changes,
        )
        if set(changes) & set(CALENDAR_HOURS) and calendar_users(calendar):
            _recompute_after_commit(tenant.pk)
    return calendar


def calendar_users(calendar: Calendar) -> list[str]:
    """What uses a calendar, in words: coverage entries and SLA policies (retired ones too:
    they keep their calendar)."""
    users = [
        f"coverage of {entry.party.name}"
        + (f" ({entry.service_area.name})" if entry.service_area else "")
        for entry in Coverage.objects.filter(calendar=calendar).select_related(
            "party", "service_area"
        )
    ]
    users += [
        f"the SLA policy “{policy.name}”" + ("" if policy.is_active else " (inactive)")
        for policy in SlaPolicy.objects.filter(calendar=calendar)
    ]
    return users


def delete_calendar(*, actor: Principal, calendar: Calendar) -> None:
    """Delete a calendar nothing uses. While a coverage entry or an SLA policy uses it, the
    answer is a conflict that names them: move them to another calendar first."""
    tenant = calendar.tenant
    policies.authorize(actor, CHANGE, tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        users = calendar_users(calendar)
        if users:
            raise Conflict(
                f"The calendar “{calendar.name}” is in use by {_join(users)}. "
                "Give them another calendar first."
            )
        record_audit(
            actor=actor,
            action="sla.delete_calendar",
            target=calendar,
            tenant_id=tenant.pk,
            changes=diff(_fields(calendar, CALENDAR_FIELDS), {}),
        )
        calendar.delete()


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- SLA policies -----------------------------------------------------------------------------

POLICY_FIELDS = ("name", "calendar_id", "targets", "pause_statuses", "warn_at_percent")


def clean_targets(targets: Any) -> dict[str, dict[str, int]]:
    """``{"1": {"first_response": 15, ...}, ...}``: priorities 1..9, known metrics, whole
    minutes up to a year; ordered by priority and metric."""
    require(
        isinstance(targets, Mapping) and bool(targets),
        "targets",
        "Give at least one target. To stop measuring a party, deactivate its policy instead.",
    )
    cleaned: dict[int, dict[str, int]] = {}
    for priority, metrics in targets.items():
        require(
            isinstance(priority, str) and priority.isdigit() and 1 <= int(priority) <= MAX_LEVELS,
            "targets",
            f'Priorities are "1" to "{MAX_LEVELS}" (1 = P1), not {priority!r}.',
        )
        number = int(priority)
        require(number not in cleaned, "targets", f"P{number} is given twice.")
        require(
            isinstance(metrics, Mapping) and bool(metrics),
            "targets",
            f"P{number}: give minutes for at least one of {', '.join(METRICS)}.",
        )
        for metric, minutes in metrics.items():
            require(metric in METRICS, "targets", f"P{number}: metrics are {', '.join(METRICS)}.")
            require(
                isinstance(minutes, int)
                and not isinstance(minutes, bool)
                and 0 < minutes <= MAX_TARGET_MINUTES,
                "targets",
                f"P{number} {metric}: whole minutes, at least 1 and at most a year.",
            )
        cleaned[number] = {m: int(metrics[m]) for m in METRICS if m in metrics}
    return {str(number): cleaned[number] for number in sorted(cleaned)}


def clean_pause_statuses(pause_statuses: Any, status_keys: Iterable[str]) -> dict[str, list[str]]:
    """``{metric: [status key, ...]}``: statuses of the tenant's workflow that stop a metric's
    clock; metrics without statuses are dropped."""
    pause_statuses = pause_statuses or {}
    require(
        isinstance(pause_statuses, Mapping),
        "pause_statuses",
        "Map a metric to the status keys that pause it.",
    )
    known = list(status_keys)
    cleaned: dict[str, list[str]] = {}
    for metric, statuses in pause_statuses.items():
        require(
            metric in METRICS,
            "pause_statuses",
            f"Metrics are {', '.join(METRICS)}, not {metric!r}.",
        )
        require(
            isinstance(statuses, list | tuple) and all(isinstance(s, str) for s in statuses),
            "pause_statuses",
            f"{metric}: a list of status keys.",
        )
        unknown = sorted(set(statuses) - set(known))
        require(
            not unknown,
            "pause_statuses",
            f"{metric}: unknown statuses {', '.join(unknown)}; use {', '.join(known)}.",
        )
        if statuses:
            cleaned[metric] = [key for key in known if key in statuses]
    return {metric: cleaned[metric] for metric in METRICS if metric in cleaned}


def add_sla_policy(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    party_id: int,
    calendar_id: int,
    targets: dict[str, dict[str, int]],
    pause_statuses: dict[str, list[str]] | None = None,
    warn_at_percent: int = 80,
) -> SlaPolicy:
    """Create a policy through ``services.create_sla_policy``, with targets and pause
    statuses validated and normalised as :func:`update_sla_policy` does."""
    policies.authorize(actor, CHANGE, tenant)
    with within_tenant(tenant.pk):
        party = party_in(tenant, party_id)
        known = services.status_kinds(desk_settings(tenant.pk))
    created: SlaPolicy = services.create_sla_policy(
        actor=actor,
        tenant=tenant,
        name=name,
        party=party,
        calendar_id=calendar_id,
        targets=clean_targets(targets),
        pause_statuses=clean_pause_statuses(pause_statuses, known),
        warn_at_percent=warn_at_percent,
    )
    return created


def update_sla_policy(
    *,
    actor: Principal,
    policy: SlaPolicy,
    name: str | None = None,
    calendar_id: int | None = None,
    targets: dict[str, dict[str, int]] | None = None,
    pause_statuses: dict[str, list[str]] | None = None,
    warn_at_percent: int | None = None,
) -> SlaPolicy:
    """Change an SLA or OLA: its name, calendar, targets, pause statuses or warning point.
    The party stays (another party's terms are another policy). An active policy's change
    recomputes the tenant's open tickets after commit."""
    tenant = policy.tenant
    policies.authorize(actor, CHANGE, tenant)
    before = _fields(policy, POLICY_FIELDS)
    after: dict[str, Any] = {
        "name": clean_name(name) if name is not None else policy.name,
        "calendar_id": calendar_id if calendar_id is not None else policy.calendar_id,
        "targets": clean_targets(targets) if targets is not None else policy.targets,
        "pause_statuses": policy.pause_statuses,
        "warn_at_percent": warn_at_percent
        if warn_at_percent is not None
        else policy.warn_at_percent,
    }
    require(
        isinstance(after["warn_at_percent"], int) and 0 < after["warn_at_percent"] < 100,
        "warn_at_percent",
        "Between 1 and 99 (percent of the target elapsed).",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = services._in_tenant(Calendar, tenant.pk, after["calendar_id"], "calendar_id")
        if pause_statuses is not None:
            after["pause_statuses"] = clean_pause_statuses(
                pause_statuses, services.status_kinds(desk_settings(tenant.pk))
            )
        changes = diff(before, after)
        if not changes:
            return policy
        clash = SlaPolicy.objects.filter(tenant=tenant, name__iexact=after["name"]).exclude(
            pk=policy.pk
        )
        if clash.exists():
            raise Conflict(f"An SLA policy named {after['name']!r} already exists.")
        policy.name = after["name"]
        policy.calendar = calendar
        policy.targets = after["targets"]
        policy.pause_statuses = after["pause_statuses"]
        policy.warn_at_percent = after["warn_at_percent"]
        policy.save()
        record_audit(
            actor=actor,
            action="sla.change_policy",
            target=policy,
            tenant_id=tenant.pk,
            changes=changes,
        )
        if policy.is_active and set(changes) - {"name"}:
            _recompute_after_commit(tenant.pk)
    return policy


def activate_sla_policy(*, actor: Principal, policy: SlaPolicy) -> SlaPolicy:
    """Put a policy in force again. A party has one active policy at a time: deactivate the
    other one first (the answer names it)."""
    return _set_policy_active(actor=actor, policy=policy, active=True)


def deactivate_sla_policy(*, actor: Principal, policy: SlaPolicy) -> SlaPolicy:
    """Take a policy out of force (retire it). It stays, with its terms, for the record;
    the party's open tickets lose its clock when they are recomputed after commit."""
    return _set_policy_active(actor=actor, policy=policy, active=False)


def _set_policy_active(*, actor: Principal, policy: SlaPolicy, active: bool) -> SlaPolicy:
    tenant = policy.tenant
    policies.authorize(actor, CHANGE, tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        if policy.is_active == active:
            state = "active" if active else "inactive"
            raise Conflict(f"The SLA policy “{policy.name}” is {state} already.")
        if active:
            other = (
                SlaPolicy.objects.filter(party_id=policy.party_id, is_active=True)
                .exclude(pk=policy.pk)
                .first()
            )
            if other is not None:
                raise Conflict(
                    f"{policy.party.name} already has an active SLA policy, “{other.name}”. "
                    "Deactivate it first."
                )
        policy.is_active = active
        policy.save()
        record_audit(
            actor=actor,
            action="sla.activate_policy" if active else "sla.deactivate_policy",
            target=policy,
            tenant_id=tenant.pk,
            changes=diff({"is_active": not active}, {"is_active": active}),
        )
        _recompute_after_commit(tenant.pk)
    return policy


# --- Coverage ---------------------------------------------------------------------------------

COVERAGE_FIELDS = ("calendar_id", "service_area_id", "max_priority")


def update_coverage(
    *,
    actor: Principal,
    coverage: Coverage,
    calendar_id: int | None = None,
    service_area_id: int | None = KEEP,
    max_priority: int | None = None,
) -> Coverage:
    """Change when a party is on duty: its calendar, its service area (``None``: all
    areas) or the priorities it covers. The party stays. Snapshots the matrix and
    recomputes the open tickets after commit."""
    tenant = coverage.tenant
    policies.authorize(actor, CHANGE, tenant)
    before = _fields(coverage, COVERAGE_FIELDS)
    after: dict[str, Any] = {
        "calendar_id": calendar_id if calendar_id is not None else coverage.calendar_id,
        "service_area_id": coverage.service_area_id if service_area_id is KEEP else service_area_id,
        "max_priority": max_priority if max_priority is not None else coverage.max_priority,
    }
    require(
        isinstance(after["max_priority"], int) and 1 <= after["max_priority"] <= MAX_LEVELS,
        "max_priority",
        f"Between 1 and {MAX_LEVELS}.",
    )
    changes = diff(before, after)
    if not changes:
        return coverage
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = services._in_tenant(Calendar, tenant.pk, after["calendar_id"], "calendar_id")
        area = services._in_tenant(
            ServiceArea, tenant.pk, after["service_area_id"], "service_area_id"
        )
        coverage.calendar = calendar
        coverage.service_area = area
        coverage.max_priority = after["max_priority"]
        coverage.save()
        party = coverage.party
        services._snapshot_matrix(
            actor, tenant, f"Coverage for {party.name} changed: {calendar.name}"
        )
        record_audit(
            actor=actor,
            action="servicedesk.change_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=changes,
        )
        _recompute_after_commit(tenant.pk)
    return coverage


def remove_coverage(*, actor: Principal, coverage: Coverage) -> None:
    """Remove a coverage entry; the matrix version history keeps what it was. A party left
    without entries counts as always on duty (see the matrix page)."""
    tenant = coverage.tenant
    policies.authorize(actor, CHANGE, tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        label = f"Coverage for {coverage.party.name} on {coverage.calendar.name} removed"
        record_audit(
            actor=actor,
            action="servicedesk.remove_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=diff({**_fields(coverage, COVERAGE_FIELDS), "party_id": coverage.party_id}, {}),
        )
        coverage.delete()
        services._snapshot_matrix(actor, tenant, label)
        _recompute_after_commit(tenant.pk)


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
    """Create a category through ``services.create_category``, with its questions validated
    here in full. That service keeps only name, label, type and choices of each question, so
    the complete questions (with ``required``) are then set as an audited change in the same
    transaction."""
    policies.authorize(actor, CHANGE, tenant)
    questions = clean_form_fields(form_fields)
    with transaction.atomic():
        category = services.create_category(
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
        area = services._in_tenant(
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
        domain = mail.normal_domain(raw) if isinstance(raw, str) else ""
        require(bool(domain), "mail_domains", f"Not a domain name: {str(raw)[:100]!r}.")
        require(
            domain != mail.normal_domain(django_settings.MAIL_DOMAIN),
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


# --- Reads the API and the pages share --------------------------------------------------------


def config_tenant(principal: Principal, tenant_id: int, action: str = VIEW) -> Tenant:
    """The tenant if the principal sees it and may ``action`` there; else not found."""
    tenant = tenancy_queries.tenant(principal, tenant_id)
    if not policies.allowed(principal, action, tenant):
        raise Http404("not found")
    return tenant


def _reachable(principal: Principal) -> QuerySet[Tenant]:
    """The tenants whose configuration the principal may read."""
    return policies.visible(principal, VIEW, Tenant.objects.all())


def _one(rows: QuerySet[Any], pk: int) -> Any:
    found = rows.filter(pk=pk).first()
    if found is None:
        raise Http404("not found")
    return found


def sees_every_policy(principal: Principal, tenant_id: int) -> bool:
    """The tenant's IT reads every SLA and OLA; a provider only its own party's terms."""
    return principal.is_internal_in(tenant_id)


def sla_policies(principal: Principal, tenant_id: int) -> QuerySet[SlaPolicy]:
    """The policies of a tenant the principal may read (a provider: its own party's)."""
    rows = SlaPolicy.objects.filter(tenant_id=tenant_id).select_related("party", "calendar")
    if not sees_every_policy(principal, tenant_id):
        rows = rows.filter(party_id__in=sorted(principal.party_ids_in(tenant_id)))
    return rows


def categories(principal: Principal, tenant_id: int) -> QuerySet[Category]:
    """The tenant's categories of the service areas the principal sees (all, for its IT)."""
    from tandem.servicedesk import queries

    return Category.objects.filter(
        tenant_id=tenant_id,
        service_area__in=queries.matrix_areas(principal, tenant_id).values("pk"),
    ).select_related("service_area")


def calendar_for(principal: Principal, calendar_id: int, tenant_id: int | None = None) -> Calendar:
    rows = Calendar.objects.filter(tenant__in=_reachable(principal).values("pk"))
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return _one(rows.select_related("tenant"), calendar_id)  # type: ignore[no-any-return]


def sla_policy_for(
    principal: Principal, sla_policy_id: int, tenant_id: int | None = None
) -> SlaPolicy:
    found = _one(
        SlaPolicy.objects.filter(tenant__in=_reachable(principal).values("pk")).select_related(
            "tenant", "party"
        ),
        sla_policy_id,
    )
    if tenant_id is not None and found.tenant_id != tenant_id:
        raise Http404("not found")
    # Another party's terms are none of a provider's business: not found.
    return _one(sla_policies(principal, found.tenant_id), sla_policy_id)  # type: ignore[no-any-return]


def coverage_for(principal: Principal, coverage_id: int, tenant_id: int | None = None) -> Coverage:
    from tandem.servicedesk import queries

    found = _one(
        Coverage.objects.filter(tenant__in=_reachable(principal).values("pk")), coverage_id
    )
    if tenant_id is not None and found.tenant_id != tenant_id:
        raise Http404("not found")
    return _one(queries.coverage(principal, found.tenant_id).select_related("tenant"), coverage_id)  # type: ignore[no-any-return]


def category_for(principal: Principal, category_id: int, tenant_id: int | None = None) -> Category:
    found = _one(
        Category.objects.filter(tenant__in=_reachable(principal).values("pk")), category_id
    )
    if tenant_id is not None and found.tenant_id != tenant_id:
        raise Http404("not found")
    return _one(categories(principal, found.tenant_id).select_related("tenant"), category_id)  # type: ignore[no-any-return]


def party_in(tenant: Tenant, party_id: int) -> Party:
    """A party of ``tenant`` for a write's input; another tenant's party is bad input."""
    party = Party.objects.filter(tenant=tenant, pk=party_id).first()
    require(party is not None, "party_id", "No such party in this tenant.")
    assert party is not None
    return party


def used_status_keys(tenant: Tenant) -> set[str]:
    """Status keys any ticket has had (now or in its history): permanent keys."""
    # ``order_by()``: with the models' default ordering, DISTINCT would also be taken over
    # the ordering column and return every row (300,000 events for a busy tenant).
    now = Ticket.objects.filter(tenant=tenant).order_by().values_list("status", flat=True)
    before = TicketEvent.objects.filter(tenant=tenant).order_by().values_list("status", flat=True)
    return set(now.distinct()) | set(before.distinct())
