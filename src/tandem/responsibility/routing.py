"""Who gets a ticket, and why: the pure routing core and the matrix's gap analysis.

Plain data in, plain data out; ``services.py`` builds the inputs from the database. The
rules, in order:

1. The most specific responsibility row for the ticket's service area wins: one for its
   asset group, else one for its site, else the area-wide row. Two rows at the same level
   are an overlap; the oldest row wins and the reason says so.
2. No row, or a Responsible party that may not take the ticket (an engagement suspended, or
   not covering the area or site): the tenant's triage queue (its internal IT).
3. The Responsible party takes the ticket when it is on duty: one of its coverage entries
   for the area (or all areas) and the priority has its calendar open now. A party with no
   coverage entries at all is taken to be always on duty (the gap analysis flags it).
4. Off duty and urgent (P1..``urgent_max``): the ticket goes to a party that is on duty for
   the area and priority, preferring the row's Accountable, then Consulted parties, then
   anyone else; if nobody is on duty it stays with the Responsible party.
5. Off duty and not urgent: it stays with the Responsible party and waits for its hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tandem.sla.calendar import BusinessCalendar, is_open


@dataclass(frozen=True)
class MatrixRow:
    id: int
    service_area_id: int
    responsible_id: int
    accountable_id: int
    site_id: int | None = None
    asset_group_id: int | None = None
    consulted_ids: tuple[int, ...] = ()
    informed_ids: tuple[int, ...] = ()

    @property
    def level(self) -> int:
        """How specific the row is: 2 asset group, 1 site, 0 the whole area."""
        return 2 if self.asset_group_id else 1 if self.site_id else 0


@dataclass(frozen=True)
class CoverageEntry:
    party_id: int
    calendar: BusinessCalendar
    service_area_id: int | None = None  # None: every area
    max_priority: int = 5  # covers P1..P<max_priority>

    def covers(self, service_area_id: int | None, priority: int) -> bool:
        return (
            self.service_area_id is None or self.service_area_id == service_area_id
        ) and priority <= self.max_priority


@dataclass(frozen=True)
class TicketFacts:
    service_area_id: int | None
    priority: int
    at: dt.datetime
    site_id: int | None = None
    asset_group_id: int | None = None


@dataclass(frozen=True)
class Decision:
    party_id: int
    reason: str
    row_id: int | None = None
    responsible_id: int | None = None
    on_duty: bool = True


@dataclass(frozen=True)
class RoutingContext:
    """Everything about a tenant that routing needs, built once per request or batch."""

    rows: Sequence[MatrixRow]
    coverage: Sequence[CoverageEntry]
    party_names: Mapping[int, str]
    area_names: Mapping[int, str]
    triage_party_id: int
    #: Parties that may hold a ticket of (area, site): internal IT always; a provider only
    #: while its engagement is live and covers them. Built by the caller.
    eligible: Mapping[tuple[int | None, int | None], frozenset[int]] = field(default_factory=dict)
    urgent_max: int = 2

    def may_hold(self, party_id: int, area_id: int | None, site_id: int | None) -> bool:
        if party_id == self.triage_party_id:
            return True
        allowed = self.eligible.get((area_id, site_id))
        if allowed is None:
            allowed = self.eligible.get((area_id, None), frozenset())
        return party_id in allowed


def on_duty(
    party_id: int,
    coverage: Iterable[CoverageEntry],
    area_id: int | None,
    priority: int,
    at: dt.datetime,
) -> bool:
    """Whether ``party_id`` is on duty for this area and priority at ``at``."""
    entries = [c for c in coverage if c.party_id == party_id]
    if not entries:
        return True
    return any(c.covers(area_id, priority) and is_open(c.calendar, at) for c in entries)


def matching_rows(rows: Iterable[MatrixRow], facts: TicketFacts) -> list[MatrixRow]:
    """The rows that apply to the ticket, most specific first, oldest first within a level."""
    applicable = [
        r
        for r in rows
        if r.service_area_id == facts.service_area_id
        and (r.site_id is None or r.site_id == facts.site_id)
        and (r.asset_group_id is None or r.asset_group_id == facts.asset_group_id)
    ]
    return sorted(applicable, key=lambda r: (-r.level, r.id))


def route(facts: TicketFacts, context: RoutingContext) -> Decision:
    """Pick the party for a ticket and say why in one line a technician can read."""
    names = context.party_names
    area = context.area_names.get(facts.service_area_id or 0, "No service area")
    p = f"P{facts.priority}"
    triage = context.triage_party_id

    rows = matching_rows(context.rows, facts)
    if not rows:
        return Decision(triage, f"{area} → {names[triage]} (triage: no responsible party); {p}")
    row = rows[0]
    overlap = [r for r in rows if r.level == row.level and r.responsible_id != row.responsible_id]
    note = "; overlapping rows, oldest wins" if overlap else ""
    responsible = row.responsible_id
    if not context.may_hold(responsible, facts.service_area_id, facts.site_id):
        return Decision(
            triage,
            f"{area} → {names[triage]} (triage); {names.get(responsible, '?')} (R) is not "
            f"engaged for this now; {p}{note}",
            row_id=row.id,
            responsible_id=responsible,
        )
    if on_duty(responsible, context.coverage, facts.service_area_id, facts.priority, facts.at):
        return Decision(
            responsible, f"{area} → {names[responsible]} (R); {p}{note}", row.id, responsible
        )
    if facts.priority <= context.urgent_max:
        preferred = [row.accountable_id, *row.consulted_ids]
        others = sorted({c.party_id for c in context.coverage} - set(preferred) - {responsible})
        for candidate in [*preferred, *others]:
            if candidate == responsible or candidate not in names:
                continue
            if not context.may_hold(candidate, facts.service_area_id, facts.site_id):
                continue
            has_entries = any(c.party_id == candidate for c in context.coverage)
            if has_entries and on_duty(
                candidate, context.coverage, facts.service_area_id, facts.priority, facts.at
            ):
                return Decision(
                    candidate,
                    f"{area} → {names[candidate]} (on duty); {names[responsible]} (R) "
                    f"off duty; {p}{note}",
                    row.id,
                    responsible,
                    on_duty=True,
                )
        return Decision(
            responsible,
            f"{area} → {names[responsible]} (R); off duty and nobody else on duty; {p}{note}",
            row.id,
            responsible,
            on_duty=False,
        )
    return Decision(
        responsible,
        f"{area} → {names[responsible]} (R); off duty, waits for its hours; {p}{note}",
        row.id,
        responsible,
        on_duty=False,
    )


# --- Gap and overlap analysis ---------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # "no_responsible", "overlap", "uncovered", "no_coverage", "not_engaged"
    message: str
    service_area_id: int | None = None
    priority: int | None = None
    #: Uncovered local windows in the reference week: (start, end) naive local datetimes.
    windows: tuple[tuple[dt.datetime, dt.datetime], ...] = ()


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _fmt(moment: dt.datetime) -> str:
    return f"{WEEKDAYS[moment.weekday()]} {moment:%H:%M}"


def analyse(
    context: RoutingContext,
    *,
    area_ids: Iterable[int],
    week_start: dt.datetime,
    step_minutes: int = 15,
) -> list[Finding]:
    """What the matrix leaves to chance: areas nobody is responsible for, two responsible
    parties for the same scope, parties with no hours, and hours of the reference week in
    which nobody who may take an urgent ticket of an area is on duty.

    ``week_start`` is an aware datetime (normally Monday 00:00 in the tenant's zone); windows
    are reported in that zone.
    """
    findings: list[Finding] = []
    names = context.party_names
    rows_by_area: dict[int, list[MatrixRow]] = {}
    for row in context.rows:
        rows_by_area.setdefault(row.service_area_id, []).append(row)

    for area_id in sorted(area_ids):
        area = context.area_names.get(area_id, str(area_id))
        area_rows = rows_by_area.get(area_id, [])
        if not area_rows:
            findings.append(Finding("no_responsible", f"{area}: no responsible party", area_id))
            continue
        by_scope: dict[tuple[int | None, int | None], set[int]] = {}
        for row in area_rows:
            by_scope.setdefault((row.site_id, row.asset_group_id), set()).add(row.responsible_id)
        for (site_id, group_id), responsible in sorted(
            by_scope.items(), key=lambda item: (item[0][0] or 0, item[0][1] or 0)
        ):
            if len(responsible) > 1:
                who = " and ".join(sorted(names.get(p, str(p)) for p in responsible))
                where = " (one site)" if site_id else " (one asset group)" if group_id else ""
                findings.append(
                    Finding("overlap", f"{area}{where}: two responsible parties, {who}", area_id)
                )
        # A row naming a provider whose engagement is not live (ended since, suspended, or
        # not yet accepted) routes nothing to it: say so, rather than count it on duty.
        for row in area_rows:
            if not context.may_hold(row.responsible_id, area_id, row.site_id):
                who = names.get(row.responsible_id, str(row.responsible_id))
                findings.append(
                    Finding(
                        "not_engaged",
                        f"{area}: {who} is Responsible but has no live engagement covering it, "
                        "so its tickets go elsewhere",
                        area_id,
                    )
                )
        findings.extend(_uncovered(context, area_id, area, area_rows, week_start, step_minutes))

    # Only parties that may hold tickets somewhere are counted "on duty" without hours.
    involved = {
        r.responsible_id
        for r in context.rows
        if context.may_hold(r.responsible_id, r.service_area_id, r.site_id)
    }
    with_hours = {c.party_id for c in context.coverage}
    for party_id in sorted(involved - with_hours):
        findings.append(
            Finding(
                "no_coverage",
                f"{names.get(party_id, party_id)} has no service hours: routing treats it as "
                "always on duty",
            )
        )
    return findings


def _uncovered(
    context: RoutingContext,
    area_id: int,
    area: str,
    area_rows: Sequence[MatrixRow],
    week_start: dt.datetime,
    step_minutes: int,
) -> list[Finding]:
    parties = {r.responsible_id for r in area_rows} | {c.party_id for c in context.coverage}
    parties = {p for p in parties if context.may_hold(p, area_id, None)}
    findings = []
    steps = 7 * 24 * 60 // step_minutes
    for priority in range(1, context.urgent_max + 1):
        open_windows: list[tuple[dt.datetime, dt.datetime]] = []
        gap_start: dt.datetime | None = None
        for index in range(steps + 1):
            # Walk the week on the wall clock of the tenant's zone, so "Mon 18:00" means
            # 18:00 local whatever DST does that week.
            local = week_start.replace(tzinfo=None) + dt.timedelta(minutes=index * step_minutes)
            moment = local.replace(tzinfo=week_start.tzinfo)
            covered = index == steps or any(
                any(c.party_id == p for c in context.coverage)
                and on_duty(p, context.coverage, area_id, priority, moment)
                for p in parties
            )
            if not covered and gap_start is None:
                gap_start = local
            elif covered and gap_start is not None:
                open_windows.append((gap_start, local))
                gap_start = None
        if open_windows:
            whole_week = open_windows == [(week_start.replace(tzinfo=None), local)]
            text = (
                "at any time of the week"
                if whole_week
                else ", ".join(f"{_fmt(a)}–{_fmt(b)}" for a, b in open_windows)
            )
            findings.append(
                Finding(
                    "uncovered",
                    f"{area}: nobody on duty for P{priority} {text}",
                    area_id,
                    priority,
                    tuple(open_windows),
                )
            )
    return findings
