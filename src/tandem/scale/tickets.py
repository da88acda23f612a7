"""One tenant's tickets with their history, notes, time, handoffs and watchers, as rows.

Pure: plain data in (a :class:`~tandem.scale.desk.Desk`), rows out, no Django. Every ticket
is written the way the services would have left it:

- routed by the real routing core (``responsibility.routing.route``) at its creation instant,
  with the same one-line reason; numbered per tenant in order of creation;
- its life is a sequence of the services' changes (assign, public response, in progress,
  waiting, handoff, reprioritise, resolve, reopen, close), each a ``TicketEvent`` with the
  state after it, timed in the holder's business hours against its SLA targets, so most
  clocks are met and some breached; a life that would run past "now" stops there and the
  ticket is open in that state;
- a public note from IT is a response (``responded`` event, ``first_responded_at``), other
  notes are party-private or IT-shared, written by people of the party holding the ticket;
  requesters reply in public while a ticket waits on them;
- its SLA state and due dates come from the pure clock (``sla.clock.compute_clock``) over
  that history, for every holder with a policy, exactly as ``sla_bridge.recompute_sla``
  would store them as of the run's "now".

Times are epoch seconds until a row is written; :class:`Stamps` turns them into the
database's text form. :func:`run_job` is what the worker processes run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tandem.responsibility import routing
from tandem.scale import texts
from tandem.scale.desk import Desk
from tandem.sla import clock
from tandem.sla.calendar import compiled

UTC = dt.UTC
DAY = 86_400
HOUR = 3_600
#: Tickets are created over this many days before "now".
HISTORY_DAYS = 730

AREA_WEIGHTS = {
    "tier1-desk": 36,
    "identity": 11,
    "security-monitoring": 8,
    "endpoint-patching": 8,
    "onboarding": 8,
    "server-patching": 7,
    "lob-apps": 7,
    "network": 6,
    "backup": 5,
    "cloud": 4,
}
VIA = (("portal", 36), ("web", 30), ("email", 28), ("api", 6))
OPEN_STATUSES = (
    ("new", 15),
    ("assigned", 20),
    ("in-progress", 32),
    ("waiting-requester", 15),
    ("waiting-third-party", 10),
    ("reopened", 8),
)
_CLOCK_KIND = {
    "responded": clock.EventKind.RESPONDED,
    "resolved": clock.EventKind.RESOLVED,
    "reopened": clock.EventKind.REOPENED,
}
_CHANGE = clock.EventKind.CHANGE
_DUE_STATES = (clock.ClockState.RUNNING, clock.ClockState.BREACHED)
EMPTY = "{}"

#: A note before it becomes a row: (at, author id, author label, party or None, tier, body,
#: channel).
Note = tuple[int, int, str, int | None, str, str, str]
#: A handoff before it becomes a row: (at, from party, to party, reason, actor id, ping-pong).
Move = tuple[int, int, int, str, int, bool]


def _cumulative(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    names, totals, total = [], [], 0
    for name, weight in pairs:
        total += weight
        names.append(name)
        totals.append(total)
    return names, totals


class Stamps:
    """Epoch seconds to text: the database's form of a UTC datetime (PostgreSQL COPY parses
    ``2026-01-31 08:00:00+00``; Django keeps SQLite datetimes as ``2026-01-31 08:00:00``)
    and ISO 8601 as ``sla_state`` holds it. Days and times of day come from tables, which is
    several times faster than formatting datetimes."""

    _clock: list[str] | None = None

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.days: dict[int, str] = {}
        if Stamps._clock is None:
            Stamps._clock = [
                f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
            ]
        self.clock = Stamps._clock

    def day(self, seconds: int) -> str:
        number = seconds // DAY
        found = self.days.get(number)
        if found is None:
            found = self.days[number] = (EPOCH + dt.timedelta(days=number)).isoformat()
        return found

    def __call__(self, seconds: int) -> str:
        number, rest = divmod(seconds, DAY)
        prefix = self.days.get(number)
        if prefix is None:
            prefix = self.days[number] = (EPOCH + dt.timedelta(days=number)).isoformat()
        return f"{prefix} {self.clock[rest]}{self.suffix}"

    def iso(self, seconds: int | None) -> str | None:
        """``datetime.isoformat()`` of the UTC instant, or None."""
        if seconds is None:
            return None
        number, rest = divmod(seconds, DAY)
        prefix = self.days.get(number)
        if prefix is None:
            prefix = self.days[number] = (EPOCH + dt.timedelta(days=number)).isoformat()
        return f"{prefix}T{self.clock[rest]}+00:00"


EPOCH = dt.date(1970, 1, 1)
TABLE_NAMES = ("tickets", "events", "comments", "time_entries", "handoffs", "watchers")


@dataclass
class Batch:
    """Rows of some tickets of one tenant, in the column order of ``tandem.scale.writer``."""

    tickets: list[tuple[object, ...]] = field(default_factory=list)
    events: list[tuple[object, ...]] = field(default_factory=list)
    comments: list[tuple[object, ...]] = field(default_factory=list)
    time_entries: list[tuple[object, ...]] = field(default_factory=list)
    handoffs: list[tuple[object, ...]] = field(default_factory=list)
    watchers: list[tuple[object, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """Some consecutive tickets of one tenant: what a worker process generates."""

    desk: Desk
    vendor: str  # "postgresql" (COPY text out) or "sqlite" (tuples out)
    now: int
    seed: str
    first_id: int
    first_number: int
    created: Sequence[int]


@dataclass
class Output:
    """A job's rows per table (COPY text for PostgreSQL, tuples for SQLite) and tallies."""

    tables: dict[str, bytes | list[tuple[object, ...]]]
    rows: dict[str, int]
    tally: dict[str, int]


def run_job(job: Job) -> Output:
    """Generate a job's tickets (runs in a worker process, or inline)."""
    generator = TenantTickets(
        job.desk,
        now=job.now,
        rng=random.Random(job.seed),
        stamps=Stamps("+00" if job.vendor == "postgresql" else ""),
    )
    batch = generator.batch(job.first_id, job.first_number, job.created)
    rows = {name: len(getattr(batch, name)) for name in TABLE_NAMES}
    tables: dict[str, bytes | list[tuple[object, ...]]] = {}
    for name in TABLE_NAMES:
        found = getattr(batch, name)
        tables[name] = copy_text(found) if job.vendor == "postgresql" else found
    return Output(tables=tables, rows=rows, tally=generator.tally)


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        return (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return str(value)


def copy_text(rows: list[tuple[object, ...]]) -> bytes:
    """Rows in PostgreSQL's COPY text format.

    The generator's own texts hold no tab, newline, carriage return or backslash, so the
    rows are joined without escaping and the result checked once: any such character (one
    the texts gained, a quote escaped in JSON) sends the whole batch through the escaping
    path instead.
    """
    if not rows:
        return b""
    width = len(rows[0])
    lines = [
        "\t".join(
            [
                "\\N"
                if v is None
                else v
                if v.__class__ is str
                else ("t" if v else "f")
                if v.__class__ is bool
                else str(v)
                for v in row
            ]
        )
        for row in rows
    ]
    lines.append("")
    text = "\n".join(lines)
    if (
        text.count("\t") != len(rows) * (width - 1)
        or text.count("\n") != len(rows)
        or "\r" in text
        or text.count("\\") != text.count("\\N")
    ):
        field = _copy_field
        lines = ["\t".join([field(v) for v in row]) for row in rows]
        lines.append("")
        text = "\n".join(lines)
    return text.encode()


class TenantTickets:
    """Generates tickets of one tenant from its desk."""

    def __init__(self, desk: Desk, *, now: int, rng: random.Random, stamps: Stamps) -> None:
        self.desk = desk
        self.now = now
        self.now_dt = dt.datetime.fromtimestamp(now, UTC)
        self.rng = rng
        self.stamp = stamps
        self.area_names, self.area_totals = _cumulative(tuple(AREA_WEIGHTS.items()))
        self.via_names, self.via_totals = _cumulative(VIA)
        self.open_names, self.open_totals = _cumulative(OPEN_STATUSES)
        # Requesters: a few people open many tickets (Zipf-like weights).
        self.requester_totals = _running(
            [1.0 / (rank + 1) ** 0.7 for rank in range(len(desk.requesters))]
        )
        self.compiled = {party: compiled(desk.calendars.get(party)) for party in desk.people}
        self.targets = {
            party: {
                priority: (
                    by_metric.get(clock.Metric.FIRST_RESPONSE, HOUR),
                    by_metric.get(clock.Metric.RESOLUTION, DAY),
                )
                for priority, by_metric in policy.targets.items()
            }
            for party, policy in desk.policies.items()
        }
        self.tally = {"events": 0, "comments": 0, "time_entries": 0, "handoffs": 0, "open": 0}
        calendars = dict.fromkeys(entry.calendar for entry in desk.routing.coverage)
        self.duty_calendars = [compiled(c) for c in calendars]
        self.decisions: dict[tuple[object, ...], routing.Decision] = {}

    def _route(self, area_id: int, site_id: int | None, priority: int, at: int) -> routing.Decision:
        """The routing core's decision at ``at``. It depends on the instant only through
        which coverage calendars are open then, so decisions are cached by that."""
        key = (area_id, site_id, priority, *[c.is_open(at) for c in self.duty_calendars])
        found = self.decisions.get(key)
        if found is None:
            facts = routing.TicketFacts(
                service_area_id=area_id,
                priority=priority,
                at=dt.datetime.fromtimestamp(at, UTC),
                site_id=site_id,
            )
            found = self.decisions[key] = routing.route(facts, self.desk.routing)
        return found

    def batch(self, first_id: int, first_number: int, created: Sequence[int]) -> Batch:
        """One ticket per creation instant, ids and numbers counting up from the firsts."""
        out = Batch()
        for i, t0 in enumerate(created):
            self._ticket(out, first_id + i, first_number + i, t0)
        return out

    # --- One ticket ----------------------------------------------------------------------

    def _ticket(self, out: Batch, ticket_id: int, number: int, t0: int) -> None:
        d = self.desk
        r = self.rng.random
        rng = self.rng
        now = self.now
        stamp = self.stamp
        tenant = d.tenant_id

        area_key = self.area_names[bisect(self.area_totals, r() * self.area_totals[-1])]
        area_id = d.areas[area_key]
        category_id = d.categories.get(area_id) if r() < 0.85 else None
        site_id = None
        if d.sites and r() < 0.7:
            site_id = d.sites[0] if r() < 0.6 else rng.choice(d.sites)
        urgent = area_key == "security-monitoring"
        impact = 1 if r() < (0.25 if urgent else 0.08) else (2 if r() < 0.35 else 3)
        urgency = 1 if r() < (0.3 if urgent else 0.1) else (2 if r() < 0.4 else 3)
        priority = d.priorities[(impact, urgency)]
        totals = self.requester_totals
        requester_id, requester_email = d.requesters[bisect(totals, r() * totals[-1])]
        via = self.via_names[bisect(self.via_totals, r() * self.via_totals[-1])]
        decision = self._route(area_id, site_id, priority, t0)
        holder = decision.party_id
        reason = decision.reason[:500]
        routing_row = decision.row_id  # as create_ticket: the matrix row that routed it
        creator = requester_email
        if via == "api" or (via == "web" and r() < 0.3):
            creator = rng.choice(d.people[d.internal])[1]
        status = d.first_status
        # (at, kind, status, party, priority, actor label, detail json)
        events: list[tuple[int, str, str, int, int, str, str]] = [
            (t0, "created", status, holder, priority, creator, _json({"routing": decision.reason}))
        ]
        comments: list[Note] = []
        handoffs: list[Move] = []
        worked: dict[tuple[int, int], tuple[str, int]] = {}  # (party, user) -> (email, last at)

        # The script of the ticket's life: open tickets stop at their open status.
        age = (now - t0) / DAY
        final = None
        if r() < 0.92 * math.exp(-age / 40.0) + 0.085:
            final = self.open_names[bisect(self.open_totals, r() * self.open_totals[-1])]
        script = _script(final, r)
        if r() < 0.065:
            script.insert(rng.randrange(_last_work(script) + 1), "handoff")
        if r() < 0.04:
            script.insert(rng.randrange(_last_work(script) + 1), "priority")

        assignee: tuple[int, str] | None = None
        t = t0
        first_responded = resolved_at = closed_at = None
        resolved_once = False
        paused = 0

        def person() -> tuple[int, str]:
            nonlocal assignee
            if assignee is None:
                assignee = rng.choice(d.people[holder])
            return assignee

        for step in script:
            cal = self.compiled[holder]
            first, resolve = self.targets.get(holder, {}).get(f"P{priority}", (HOUR, DAY))
            if step == "assign":
                t = cal.add(t, int(first * rng.uniform(0.05, 0.5)) + 60)
                if t >= now:
                    break
                who = person()
                status = "assigned"
                events.append((t, "status", status, holder, priority, who[1], EMPTY))
            elif step == "respond":
                t = max(t + 60, cal.add(t0, int(first * rng.lognormvariate(-0.8, 0.6)) + 60))
                if t >= now:
                    break
                who = person()
                events.append((t, "responded", status, holder, priority, who[1], EMPTY))
                comments.append(
                    (t, who[0], who[1], holder, "public", rng.choice(texts.PUBLIC_REPLIES), "web")
                )
                if first_responded is None:
                    first_responded = t
            elif step in ("progress", "back"):
                t = cal.add(t, rng.randrange(60, 1800))
                if t >= now:
                    break
                who = person()
                status = "in-progress"
                events.append((t, "status", status, holder, priority, who[1], EMPTY))
            elif step in ("wait-requester", "wait-third-party"):
                t = cal.add(t, rng.randrange(300, HOUR))
                if t >= now:
                    break
                who = person()
                status = step.replace("wait-", "waiting-")
                events.append((t, "status", status, holder, priority, who[1], EMPTY))
                wait = int(rng.uniform(2 * HOUR, 5 * DAY))
                paused += wait
                reply = t + wait - rng.randrange(60, HOUR)
                if status == "waiting-requester" and reply < now:
                    channel = "email" if r() < 0.4 else "portal"
                    body = rng.choice(texts.REQUESTER_REPLIES)
                    comments.append(
                        (reply, requester_id, requester_email, None, "public", body, channel)
                    )
                t += wait
            elif step == "handoff":
                targets = sorted(d.eligible.get((area_id, site_id), frozenset()) - {holder})
                if not targets:
                    continue
                t = cal.add(t, rng.randrange(600, 3 * HOUR))
                if t >= now:
                    break
                to = d.internal if d.internal in targets and r() < 0.6 else rng.choice(targets)
                t, holder, reason = self._handoff(
                    events, handoffs, comments, t, holder, to, status, priority, r() < 0.15
                )
                assignee = None
            elif step == "priority":
                new_urgency = max(1, min(3, urgency + (-1 if r() < 0.6 else 1)))
                new_priority = d.priorities[(impact, new_urgency)]
                if new_priority == priority:
                    continue
                t = cal.add(t, rng.randrange(300, 2 * HOUR))
                if t >= now:
                    break
                urgency, priority = new_urgency, new_priority
                who = person()
                # As reprioritise_ticket: routed again; both events show the new holder.
                again = self._route(area_id, site_id, priority, t)
                reason = again.reason[:500]
                routing_row = again.row_id
                moved = again.party_id != holder
                if moved:
                    holder, assignee = again.party_id, None
                events.append((t, "priority", status, holder, priority, who[1], EMPTY))
                if moved:
                    detail = _json({"routing": again.reason})
                    events.append((t, "assigned", status, holder, priority, who[1], detail))
            elif step == "resolve":
                if not resolved_once:
                    due = cal.add(t0, int(resolve * rng.lognormvariate(-0.8, 0.7)) + 300)
                    t = max(cal.add(t, rng.randrange(300, 2 * HOUR)), due + paused)
                else:  # resolved again after a reopening
                    t = cal.add(t, rng.randrange(1800, 8 * HOUR))
                if t >= now:
                    break
                who = person()
                status = "resolved"
                events.append((t, "resolved", status, holder, priority, who[1], EMPTY))
                resolved_at, resolved_once = t, True
            elif step == "reopen":
                t += rng.randrange(2 * HOUR, 4 * DAY)
                if t >= now:
                    break
                who = person()
                status = "reopened"
                events.append((t, "reopened", status, holder, priority, who[1], EMPTY))
                resolved_at = None
            elif step == "close":
                t += rng.randrange(3 * DAY, 10 * DAY)
                if t >= now:
                    break
                status = "closed"
                if r() < 0.3:
                    label, detail = requester_email, _json({"reason": "Closed by the requester"})
                else:
                    label, detail = person()[1], EMPTY
                events.append((t, "status", status, holder, priority, label, detail))
                closed_at = t
            if assignee is not None and step not in ("handoff", "close"):
                worked[(holder, assignee[0])] = (assignee[1], t)

        last = events[-1][0]
        # Notes that are not responses: party-private and IT-shared, by the people working it.
        for tier, chance, bodies in (
            ("private", 0.5, texts.PRIVATE_NOTES),
            ("shared", 0.5, texts.SHARED_NOTES),
        ):
            if r() < chance and worked:
                (party, user_id), (email, at) = rng.choice(list(worked.items()))
                at += rng.randrange(60, 1800)
                if at < now:
                    comments.append((at, user_id, email, party, tier, rng.choice(bodies), "web"))

        is_open = status not in ("resolved", "closed")
        if is_open:
            self.tally["open"] += 1

        # Time: on most resolved tickets, some worked open ones; one entry per person.
        # Work is logged once done: a step's moment may lie past "now" (the life stops at the
        # next step), and the service refuses time in the future.
        done_work = {key: value for key, value in worked.items() if value[1] < now}
        if done_work and (r() < 0.8 if not is_open else status != "new" and r() < 0.25):
            self.tally["time_entries"] += len(done_work)
            for (party, user_id), (_email, at) in done_work.items():
                minutes = max(5, min(480, 5 * round(rng.lognormvariate(3.2, 0.8) / 5)))
                internal = party == d.internal
                billable = r() < (0.2 if internal else 0.9)
                note = rng.choice(texts.TIME_NOTES)
                when = stamp(at)
                out.time_entries.append(
                    (
                        when, when, tenant, ticket_id, user_id, party, area_id,
                        stamp.day(at), minutes, billable, note,
                    )
                )  # fmt: skip

        # The SLA clocks of every holder with a policy, as recompute_sla stores them.
        sla_state, dues = self._sla(events, holder)

        satisfaction, satisfaction_comment = None, ""
        if not is_open and r() < 0.3:
            satisfaction = rng.choices((5, 4, 3, 2, 1), weights=(50, 30, 10, 5, 5))[0]
            satisfaction_comment = rng.choice(texts.RATING_COMMENTS)
        tags = "[]"
        if r() < 0.1:
            tags = _json(sorted(set(rng.sample(texts.TAGS, rng.randint(1, 2)))))
        subjects, details = texts.AREA_TEXTS[area_key]
        subject = rng.choice(subjects)
        description = f"{subject}. {rng.choice(details)} {rng.choice(details)}"
        final_assignee = assignee[0] if assignee is not None else None

        created = stamp(t0)
        out.tickets.append(
            (
                ticket_id, created, stamp(last), tenant, number, requester_id, subject,
                description, category_id, area_id, impact, urgency, priority, status, holder,
                final_assignee, site_id, None, tags, None, None, None, via, reason, routing_row,
                dues[0], dues[1], dues[2], sla_state,
                None if first_responded is None else stamp(first_responded),
                None if resolved_at is None or is_open else stamp(resolved_at),
                None if closed_at is None else stamp(closed_at),
                satisfaction, satisfaction_comment,
                # How the requester reached IT: e-mails were e-mails, the rest the portal.
                "email" if via == "email" else "portal",
            )
        )  # fmt: skip
        for at, kind, ev_status, party, ev_priority, label, detail in events:
            when = stamp(at)
            out.events.append(
                (when, when, tenant, ticket_id, when, kind, ev_status, party, ev_priority,
                 label, detail)
            )  # fmt: skip
        comments = sorted((c for c in comments if c[0] < now), key=_first)
        for at, author_id, label, writes_for, tier, body, channel in comments:
            when = stamp(at)
            out.comments.append(
                (when, when, tenant, ticket_id, author_id, label, writes_for, tier, body,
                 channel, "")
            )  # fmt: skip
        for row in handoffs:
            when = stamp(row[0])
            out.handoffs.append(
                (when, when, tenant, ticket_id, row[1], row[2], row[3], when, row[4], row[5])
            )
        out.watchers.append((ticket_id, requester_id))
        if final_assignee is not None and final_assignee != requester_id and r() < 0.1:
            out.watchers.append((ticket_id, final_assignee))
        self.tally["events"] += len(events)
        self.tally["comments"] += len(comments)
        self.tally["handoffs"] += len(handoffs)

    def _handoff(
        self,
        events: list[tuple[int, str, str, int, int, str, str]],
        handoffs: list[Move],
        comments: list[Note],
        t: int,
        holder: int,
        to: int,
        status: str,
        priority: int,
        bounce: bool,
    ) -> tuple[int, int, str]:
        """Hand the ticket from ``holder`` to ``to`` (and, when ``bounce``, back again within
        the ping-pong window if "now" allows). Returns the last time, holder and reason."""
        rng = self.rng
        d = self.desk
        moves = [(t, holder, to, False)]
        back = t + rng.randrange(HOUR, 20 * HOUR)
        if bounce and back < self.now:
            moves.append((back, to, holder, back - t <= d.ping_pong_seconds))
        reason = ""
        for at, source, target, ping_pong in moves:
            actor_id, actor_email = rng.choice(d.people[source])
            text = rng.choice(texts.HANDOFF_REASONS)
            handoffs.append((at, source, target, text, actor_id, ping_pong))
            detail = _json({"reason": text, "ping_pong": ping_pong})
            events.append((at, "handoff", status, target, priority, actor_email, detail))
            comments.append(
                (at + 30, actor_id, actor_email, source, "shared", f"Handing over: {text}.", "web")
            )
            reason = f"Handed off by {actor_email}: {text}"[:500]
            holder, t = target, at
        return t, holder, reason

    def _sla(
        self, events: list[tuple[int, str, str, int, int, str, str]], holder: int
    ) -> tuple[str, tuple[str | None, str | None, str | None]]:
        """``sla_state`` (JSON) and the holder's three due dates, as ``recompute_sla``."""
        policies = self.desk.policies
        iso = self.stamp.iso
        history = [
            clock.TicketEvent(
                dt.datetime.fromtimestamp(at, UTC),
                ev_status,
                party,
                f"P{ev_priority}",
                _CLOCK_KIND.get(kind, _CHANGE),
            )
            for at, kind, ev_status, party, ev_priority, _label, _detail in events
        ]
        state: dict[str, dict[str, dict[str, object]]] = {}
        dues: list[str | None] = [None, None, None]
        for party in sorted({e[3] for e in events} & set(policies)):
            result = clock.compute_clock(
                history,
                policy=policies[party],
                calendars=self.desk.calendars,
                now=self.now_dt,
                party=party,
            )
            state[str(party)] = {
                m.metric.value: {
                    "state": m.state.value,
                    "target": m.target,
                    "elapsed": m.elapsed,
                    "due": iso(m.due),
                    "met": iso(m.met),
                    "breached": iso(m.breached),
                    "breaches": m.breaches,
                }
                for m in result.metrics()
            }
            if party == holder:
                for slot, m in enumerate(
                    (result.first_response, result.next_update, result.resolution)
                ):
                    if m is not None and m.state in _DUE_STATES and m.due is not None:
                        dues[slot] = self.stamp(m.due)
        return _json(state), (dues[0], dues[1], dues[2])


def _script(final: str | None, r: Callable[[], float]) -> list[str]:
    """The services' steps of a ticket's life, up to ``final`` (an open status) or closed."""
    if final is None:
        steps = []
        if r() < 0.6:
            steps.append("assign")
        if r() < 0.92:
            steps.append("respond")
        if r() < 0.35:
            steps.append("progress")
        if r() < 0.15:
            steps += ["wait-requester" if r() < 0.7 else "wait-third-party", "back"]
        steps.append("resolve")
        if r() < 0.03:
            steps += ["reopen", "resolve"]
        if r() < 0.93:  # the rest stay resolved (no one closed them)
            steps.append("close")
        return steps
    if final == "new":
        return []
    if final == "assigned":
        return ["assign", "respond"] if r() < 0.5 else ["assign"]
    head = ["assign"] if r() < 0.6 else []
    if final == "in-progress":
        return [*head, "respond", "progress"] if r() < 0.9 else [*head, "progress"]
    if final == "reopened":
        return [*head, "respond", "resolve", "reopen"]
    middle = ["progress"] if r() < 0.5 else []
    return [*head, "respond", *middle, final.replace("waiting-", "wait-")]


def _last_work(script: list[str]) -> int:
    """Index of the first resolve (handoffs and reprioritising happen before it)."""
    return script.index("resolve") if "resolve" in script else len(script)


def _running(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _first(note: Note) -> int:
    return note[0]


_json = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def creation_times(count: int, now: int, time_zone: str, rng: random.Random) -> list[int]:
    """``count`` creation instants over the last two years, sorted: more on weekdays and in
    office hours (the tenant's zone), slowly growing towards now."""
    zone = ZoneInfo(time_zone)
    today = dt.datetime.fromtimestamp(now, zone).date()
    start = today - dt.timedelta(days=HISTORY_DAYS)
    midnights = [
        int(dt.datetime.combine(start + dt.timedelta(days=n), dt.time(), zone).timestamp())
        for n in range(HISTORY_DAYS + 1)
    ]
    weekend = [(start + dt.timedelta(days=n)).weekday() >= 5 for n in range(HISTORY_DAYS + 1)]
    found: list[int] = []
    latest = now - 600
    r = rng.random
    while len(found) < count:
        n = rng.randrange(HISTORY_DAYS + 1)
        if r() * 1.4 > 0.6 + 0.8 * n / HISTORY_DAYS:
            continue
        if weekend[n] and r() > 0.2:
            continue
        if r() < 0.85:
            seconds = int(min(19 * HOUR, max(7 * HOUR, rng.gauss(11.5 * HOUR, 2.5 * HOUR))))
        else:
            seconds = rng.randrange(DAY)
        moment = midnights[n] + seconds
        if moment < latest:
            found.append(moment)
    found.sort()
    return found
