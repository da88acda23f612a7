"""Writes of business calendars and SLA policies (the sla app keeps their models).
Keyword-only, actor first, audited; open tickets' clocks are recomputed after commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core import policies
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.core.validation import clean_country, clean_name, clean_time_zone
from tandem.responsibility.models import Coverage
from tandem.servicedesk.config.queries import CHANGE, party_in, status_kinds
from tandem.servicedesk.config.services import MAX_LEVELS, _fields, _sentence
from tandem.servicedesk.desk_config import desk_settings, to_business_calendar
from tandem.servicedesk.tasks import recompute_tenant_sla_task
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.services import _in_tenant
from tandem.sla.calendar import BusinessCalendar, public_holidays
from tandem.sla.models import Calendar, SlaPolicy
from tandem.tenancy.models import Party, Tenant


def create_calendar(
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
) -> Any:
    """Service hours for SLAs and coverage. Validated by building the pure calendar."""

    authorize(actor, "servicedesk.change_matrix", tenant)
    row = Calendar(
        tenant=tenant,
        name=clean_name(name),
        time_zone=time_zone,
        weekly=weekly,
        holiday_country=(holiday_country or "").upper(),
        holiday_subdivision=holiday_subdivision or "",
        custom_holidays=list(custom_holidays or []),
        special_days=dict(special_days or {}),
    )
    try:
        to_business_calendar(row)
    except (ValueError, TypeError, KeyError, NotImplementedError, AttributeError) as exc:
        raise InvalidInput({"weekly": [str(exc)]}) from exc
    with transaction.atomic(), within_tenant(tenant.pk):
        if Calendar.objects.filter(tenant=tenant, name__iexact=row.name).exists():
            raise Conflict(f"A calendar named {row.name!r} already exists.")
        row.save()
        record_audit(
            actor=actor,
            action="sla.create_calendar",
            target=row,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": row.name, "time_zone": time_zone, "weekly": weekly}),
        )
    return row


METRICS = ("first_response", "next_update", "resolution")


def create_sla_policy(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    party: Party,
    calendar_id: int,
    targets: dict[str, dict[str, int]],
    pause_statuses: dict[str, list[str]] | None = None,
    warn_at_percent: int = 80,
) -> Any:
    """An SLA for a provider party (its engagement's terms) or an OLA for internal IT:
    minutes of business time per priority and metric, and the statuses that pause each."""

    authorize(actor, "servicedesk.change_matrix", tenant)
    require(party.tenant_id == tenant.pk, "party_id", "Not a party of this tenant.")
    require(0 < warn_at_percent < 100, "warn_at_percent", "Between 1 and 99.")
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = _in_tenant(Calendar, tenant.pk, calendar_id, "calendar_id")
        kinds = status_kinds(desk_settings(tenant.pk))
        for priority, metrics in targets.items():
            require(priority.isdigit() and 1 <= int(priority) <= 9, "targets", "Keys are 1..9.")
            for metric, minutes in metrics.items():
                require(metric in METRICS, "targets", f"Metrics are {', '.join(METRICS)}.")
                require(
                    isinstance(minutes, int) and 0 < minutes <= 366 * 24 * 60,
                    "targets",
                    "Targets are whole minutes, at most a year.",
                )
        for metric, statuses in (pause_statuses or {}).items():
            require(metric in METRICS, "pause_statuses", f"Metrics are {', '.join(METRICS)}.")
            unknown = sorted(set(statuses) - set(kinds))
            require(not unknown, "pause_statuses", f"Unknown statuses: {unknown}.")
        if SlaPolicy.objects.filter(party=party, is_active=True).exists():
            raise Conflict(f"{party.name} already has an active SLA policy.")
        policy = SlaPolicy.objects.create(
            tenant=tenant,
            name=clean_name(name),
            party=party,
            calendar=calendar,
            targets=targets,
            pause_statuses=pause_statuses or {},
            warn_at_percent=warn_at_percent,
        )
        record_audit(
            actor=actor,
            action="sla.create_policy",
            target=policy,
            tenant_id=tenant.pk,
            changes=diff({}, {"party_id": party.pk, "targets": targets}),
        )
        _recompute_after_commit(tenant.pk)
    return policy


WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: A year and a day of business minutes: longer targets are typos.
MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_DATES = 400


def _recompute_after_commit(tenant_id: int) -> None:
    """A new or changed calendar or SLA policy changes due dates: recompute the tenant's open
    tickets in the worker once this change has committed."""
    transaction.on_commit(lambda: recompute_tenant_sla_task.enqueue(tenant_id))


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
    """Create a calendar through ``create_calendar``, after the full validation of
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
    created: Calendar = create_calendar(actor=actor, tenant=tenant, **fields)
    return created


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
    """Create a policy through ``create_sla_policy``, with targets and pause
    statuses validated and normalised as :func:`update_sla_policy` does."""
    policies.authorize(actor, CHANGE, tenant)
    with within_tenant(tenant.pk):
        party = party_in(tenant, party_id)
        known = status_kinds(desk_settings(tenant.pk))
    created: SlaPolicy = create_sla_policy(
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
        calendar = ticket_services._in_tenant(
            Calendar, tenant.pk, after["calendar_id"], "calendar_id"
        )
        if pause_statuses is not None:
            after["pause_statuses"] = clean_pause_statuses(
                pause_statuses, status_kinds(desk_settings(tenant.pk))
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
