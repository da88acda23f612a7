"""Demo data: two client companies, two providers, one login per persona, and a desk that
has been running for four weeks.

Everything is created through services, the set-up with a system principal and the history
by the people who did it (the requester opens, the holding party's technician answers, hands
off, logs time and resolves), with ``now=`` moments in the past derived from today. So the
audit chains are as real as production ones, and every dashboard and chart has figures:
met and breached clocks, handoffs (one of them ping-pong), time logged and a backlog of
every age.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import add_membership, create_user
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.demo.monitoring import add_demo_syslog_source, raise_demo_alerts
from tandem.responsibility import services as matrix_services
from tandem.servicedesk.config import services as config_services
from tandem.servicedesk.config import sla_services as config_sla
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Engagement, Party, ServiceArea, Site, Tenant
from tandem.tenancy.services import (
    accept_engagement,
    create_asset_group,
    create_provider,
    create_site,
    create_tenant,
    grant_engagement,
)

DEMO_PASSWORD = "tandem-demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    who: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("owner@contoso.example", "Contoso tenant owner"),
    DemoLogin("tech@contoso.example", "Contoso internal technician"),
    DemoLogin("employee@contoso.example", "Contoso requester"),
    DemoLogin("owner@fabrikam.example", "Fabrikam tenant owner"),
    DemoLogin("tech@fabrikam.example", "Fabrikam internal technician"),
    DemoLogin("employee@fabrikam.example", "Fabrikam requester"),
    DemoLogin("admin@northwind.example", "Northwind MSP admin (engaged by both tenants)"),
    DemoLogin("tech@northwind.example", "Northwind MSP technician"),
    DemoLogin("admin@sentinel.example", "Sentinel Security admin (engaged by Contoso)"),
    DemoLogin("analyst@sentinel.example", "Sentinel Security analyst"),
    DemoLogin("operator@tandem.example", "Instance operator (creates tenants and providers)"),
)


def demo_present() -> bool:
    with system_context("check for demo data"):
        return Tenant.objects.filter(slug="contoso").exists()


def _areas(tenant: Tenant, *keys: str) -> list[int]:
    with system_context("pick demo service areas"):
        return list(
            ServiceArea.objects.filter(tenant=tenant, key__in=keys).values_list("pk", flat=True)
        )


def _person(actor: Principal, email: str, name: str, role: str, *, tenant=None, provider=None):  # type: ignore[no-untyped-def]
    user = User.objects.filter(email=email).first() or create_user(
        actor=actor, email=email, full_name=name, password=DEMO_PASSWORD
    )
    add_membership(
        actor=actor, user=user, role=Role.objects.get(key=role), tenant=tenant, provider=provider
    )
    return user


@transaction.atomic
def load_demo() -> None:
    """Create the demo tenants, providers, engagements and people. Idempotent."""
    if demo_present():
        return
    actor = system_principal("load demo data")
    create_user(
        actor=actor,
        email="operator@tandem.example",
        full_name="Olga Operator",
        password=DEMO_PASSWORD,
        is_superuser=True,
    )
    contoso = create_tenant(
        actor=actor, name="Contoso Ltd", slug="contoso", time_zone="Europe/London", country="GB"
    )
    fabrikam = create_tenant(
        actor=actor,
        name="Fabrikam Inc",
        slug="fabrikam",
        time_zone="America/New_York",
        country="US",
    )
    northwind = create_provider(actor=actor, name="Northwind IT", slug="northwind-it")
    sentinel = create_provider(actor=actor, name="Sentinel Security", slug="sentinel-security")

    london = create_site(actor=actor, tenant=contoso, name="London HQ", time_zone="Europe/London")
    create_site(actor=actor, tenant=contoso, name="Leeds office", time_zone="Europe/London")
    create_asset_group(actor=actor, tenant=contoso, name="Finance servers", site_id=london.pk)
    boston = create_site(actor=actor, tenant=fabrikam, name="Boston", time_zone="America/New_York")
    create_asset_group(actor=actor, tenant=fabrikam, name="Lab machines", site_id=boston.pk)

    for tenant, domain, owner, tech, employee in (
        (contoso, "contoso.example", "Chloe Owner", "Carl Tech", "Emma Employee"),
        (fabrikam, "fabrikam.example", "Frank Owner", "Fiona Tech", "Eric Employee"),
    ):
        _person(actor, f"owner@{domain}", owner, "tenant-owner", tenant=tenant)
        _person(actor, f"tech@{domain}", tech, "internal-technician", tenant=tenant)
        _person(actor, f"employee@{domain}", employee, "requester", tenant=tenant)

    _person(actor, "admin@northwind.example", "Nina Admin", "provider-admin", provider=northwind)
    northwind_tech = _person(
        actor, "tech@northwind.example", "Noah Tech", "provider-technician", provider=northwind
    )
    _person(actor, "admin@sentinel.example", "Sam Admin", "provider-admin", provider=sentinel)
    _person(
        actor, "analyst@sentinel.example", "Sara Analyst", "provider-technician", provider=sentinel
    )
    # A provider technician can be a requester in their own company's tenant too.
    add_membership(
        actor=actor, user=northwind_tech, role=Role.objects.get(key="requester"), tenant=fabrikam
    )

    engagements = [
        grant_engagement(
            actor=actor,
            tenant=contoso,
            provider=northwind,
            name="Managed desk and patching",
            service_area_ids=_areas(
                contoso, "tier1-desk", "endpoint-patching", "server-patching", "backup", "network"
            ),
            allowed_actions=["tickets.work", "assets.view", "patching.approve"],
        ),
        grant_engagement(
            actor=actor,
            tenant=fabrikam,
            provider=northwind,
            name="Server care",
            service_area_ids=_areas(fabrikam, "server-patching", "backup"),
            site_ids=[boston.pk],
            allowed_actions=["tickets.work", "assets.view"],
        ),
        grant_engagement(
            actor=actor,
            tenant=contoso,
            provider=sentinel,
            name="24/7 security monitoring",
            service_area_ids=_areas(contoso, "security-monitoring", "identity"),
            allowed_actions=["security.triage", "tickets.work"],
        ),
    ]
    for engagement in engagements:
        accept_engagement(actor=actor, engagement=engagement)
    _configure_desk(actor, CONTOSO_DESK, contoso, {"nw": engagements[0], "sn": engagements[2]})
    _configure_desk(actor, FABRIKAM_DESK, fabrikam, {"nw": engagements[1]})
    _play_history(contoso, CONTOSO_STORIES, "tech@contoso.example", site=None)
    _play_history(fabrikam, FABRIKAM_STORIES, "tech@fabrikam.example", site=boston)
    _open_todays_tickets(contoso)
    raise_demo_alerts(contoso)
    add_demo_syslog_source(actor, contoso)


OFFICE_HOURS = {str(day): [["08:30", "17:30"]] for day in range(5)}
NEW_YORK_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}
AROUND_THE_CLOCK = {str(day): [["00:00", "24:00"]] for day in range(7)}
#: Minutes of business time per priority (first response, next update, resolution).
TARGETS = {
    "1": {"first_response": 15, "next_update": 60, "resolution": 240},
    "2": {"first_response": 30, "next_update": 120, "resolution": 480},
    "3": {"first_response": 60, "resolution": 1440},
    "4": {"first_response": 240, "resolution": 2880},
    "5": {"first_response": 480, "resolution": 7200},
}
PAUSES = {"resolution": ["waiting-requester", "waiting-third-party"]}


@dataclass(frozen=True)
class DeskPlan:
    """One tenant's desk configuration: who is responsible for what, on which hours, to
    which targets. Parties are named ``it`` (internal IT) or by the keys of the engagements
    passed to ``_configure_desk``."""

    time_zone: str
    holiday_country: str
    holiday_subdivision: str
    office_name: str
    office_hours: dict[str, list[list[str]]]
    categories: tuple[tuple[str, str], ...]
    #: (service area key, responsible, consulted)
    matrix: tuple[tuple[str, str, tuple[str, ...]], ...]
    #: (party, "office" or "nonstop", highest priority covered or None)
    coverage: tuple[tuple[str, str, int | None], ...]
    #: (policy name, party, calendar)
    policies: tuple[tuple[str, str, str], ...]


CONTOSO_DESK = DeskPlan(
    time_zone="Europe/London",
    holiday_country="GB",
    holiday_subdivision="ENG",
    office_name="London office hours",
    office_hours=OFFICE_HOURS,
    categories=(
        ("Laptop or desktop", "tier1-desk"),
        ("Server problem", "server-patching"),
        ("New starter", "onboarding"),
        ("Suspicious e-mail", "security-monitoring"),
    ),
    matrix=(
        ("tier1-desk", "it", ("nw",)),
        ("onboarding", "it", ()),
        ("lob-apps", "it", ()),
        ("server-patching", "nw", ("it",)),
        ("endpoint-patching", "nw", ("it",)),
        ("backup", "nw", ()),
        ("network", "nw", ("it",)),
        ("security-monitoring", "sn", ("it",)),
        ("identity", "sn", ("it",)),
    ),
    coverage=(("it", "office", None), ("nw", "nonstop", 2), ("sn", "nonstop", None)),
    policies=(
        ("Contoso IT OLA", "it", "office"),
        ("Northwind SLA", "nw", "nonstop"),
        ("Sentinel SLA", "sn", "nonstop"),
    ),
)

FABRIKAM_DESK = DeskPlan(
    time_zone="America/New_York",
    holiday_country="US",
    holiday_subdivision="MA",
    office_name="Boston office hours",
    office_hours=NEW_YORK_HOURS,
    categories=(
        ("Computer or printer", "tier1-desk"),
        ("Server or backup", "server-patching"),
        ("Restore a file", "backup"),
    ),
    matrix=(
        ("tier1-desk", "it", ()),
        ("onboarding", "it", ()),
        ("server-patching", "nw", ("it",)),
        ("backup", "nw", ("it",)),
    ),
    coverage=(("it", "office", None), ("nw", "nonstop", None)),
    policies=(("Fabrikam IT OLA", "it", "office"), ("Northwind server care", "nw", "nonstop")),
)


def _configure_desk(
    actor: Principal, plan: DeskPlan, tenant: Tenant, engagements: dict[str, Engagement]
) -> None:
    """Calendars, categories, the responsibility matrix, coverage and SLA policies."""
    with system_context("demo desk"):
        parties = {"it": Party.objects.get(tenant=tenant, kind="internal")}
        for key, engagement in engagements.items():
            parties[key] = Party.objects.get(engagement=engagement)
        areas = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
        calendars = {
            "office": config_sla.create_calendar(
                actor=actor,
                tenant=tenant,
                name=plan.office_name,
                time_zone=plan.time_zone,
                weekly=plan.office_hours,
                holiday_country=plan.holiday_country,
                holiday_subdivision=plan.holiday_subdivision,
            ),
            "nonstop": config_sla.create_calendar(
                actor=actor,
                tenant=tenant,
                name="24/7",
                time_zone=plan.time_zone,
                weekly=AROUND_THE_CLOCK,
            ),
        }
        for name, key in plan.categories:
            config_services.create_category(
                actor=actor, tenant=tenant, name=name, service_area_id=areas[key]
            )
        for key, responsible, consulted in plan.matrix:
            matrix_services.add_matrix_row(
                actor=actor,
                tenant=tenant,
                service_area_id=areas[key],
                responsible_id=parties[responsible].pk,
                accountable_id=parties["it"].pk,
                consulted_ids=[parties[c].pk for c in consulted],
            )
        for party, calendar, max_priority in plan.coverage:
            matrix_services.add_coverage(
                actor=actor,
                tenant=tenant,
                party=parties[party],
                calendar_id=calendars[calendar].pk,
                **({"max_priority": max_priority} if max_priority else {}),
            )
        for name, party, calendar in plan.policies:
            config_sla.create_sla_policy(
                actor=actor,
                tenant=tenant,
                name=name,
                party=parties[party],
                calendar_id=calendars[calendar].pk,
                targets=TARGETS,
                pause_statuses=PAUSES if party != "sn" else None,
            )


# --- Four weeks of history --------------------------------------------------------------------

MINUTE = 1
HOUR = 60
DAY = 24 * HOUR


@dataclass(frozen=True)
class Step:
    """One thing done to a ticket, ``after`` minutes (wall clock) from its opening, by the
    technician of the party holding it then. Kinds: ``reply`` (public, answers the
    requester), ``note`` (shared with the tenant's IT), ``handoff`` (to ``to``, with
    ``text`` as the reason), ``time`` (``minutes`` logged), ``status`` (to ``to``)."""

    after: int
    kind: str
    text: str = ""
    to: str = ""
    minutes: int = 0


@dataclass(frozen=True)
class Story:
    """A ticket opened ``days_ago`` working days back at ``hour`` (tenant time), and what
    happened to it since."""

    days_ago: int
    hour: float
    subject: str
    area: str
    impact: int
    urgency: int
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _resolved(after: int, worked: int = 30) -> tuple[Step, ...]:
    return (Step(after - 5, "time", minutes=worked), Step(after, "status", to="resolved"))


CONTOSO_STORIES: tuple[Story, ...] = (
    Story(
        19,
        9.5,
        "Printer on the third floor jams",
        "tier1-desk",
        3,
        2,
        (
            Step(30, "reply", "Cleared the jam; the rollers need replacing, ordered."),
            *_resolved(3 * HOUR, 25),
        ),
    ),
    Story(
        18,
        10,
        "VPN drops every hour",
        "network",
        2,
        2,
        (
            Step(20, "reply", "Looking at the concentrator logs."),
            Step(2 * HOUR, "handoff", "The tunnel is fine; the client profile is old.", to="it"),
            Step(3 * HOUR, "handoff", "The profile came from the firewall: needs you.", to="nw"),
            Step(4 * HOUR, "time", minutes=70),
            Step(2 * DAY, "status", to="resolved"),
        ),
    ),
    Story(
        16,
        11,
        "New starter: laptop for Priya",
        "onboarding",
        3,
        3,
        (
            Step(4 * HOUR, "reply", "Laptop imaged, ready for Monday."),
            *_resolved(3 * DAY, 90),
        ),
    ),
    Story(
        14,
        14,
        "Outlook keeps asking for a password",
        "tier1-desk",
        2,
        2,
        (
            Step(2 * DAY + 3 * HOUR, "reply", "Sorry for the wait: resetting the profile now."),
            Step(2 * DAY + 4 * HOUR, "time", minutes=45),
            Step(4 * DAY, "status", to="resolved"),
        ),
    ),
    Story(
        13,
        9,
        "Backup job failed on FS01",
        "backup",
        1,
        2,
        (
            Step(10, "reply", "Rerunning the job; the tape library was offline."),
            *_resolved(5 * HOUR, 50),
        ),
    ),
    Story(
        12,
        11,
        "Meeting room screen shows no signal",
        "tier1-desk",
        3,
        3,
        (
            Step(2 * HOUR, "reply", "Which room? Please send a photo of the input menu."),
            Step(2 * HOUR + 5, "status", to="waiting-requester"),
            Step(2 * HOUR + 10, "time", minutes=10),
        ),
    ),
    Story(
        11,
        10.25,
        "Phishing mail reported by finance",
        "security-monitoring",
        1,
        1,
        (
            Step(5, "reply", "Quarantined across all mailboxes."),
            Step(50, "handoff", "One user clicked: please reset their password.", to="it"),
            Step(70, "time", minutes=20),
            Step(3 * HOUR, "status", to="resolved"),
        ),
    ),
    Story(
        9,
        13,
        "Payroll export crashes",
        "lob-apps",
        2,
        2,
        (
            Step(45, "reply", "Reproduced; raised with the vendor."),
            Step(2 * HOUR, "status", to="waiting-third-party"),
            Step(2 * HOUR + 5, "time", minutes=40),
            Step(3 * DAY, "status", to="resolved"),
        ),
    ),
    Story(
        7,
        22,
        "Patching window overran on SQL02",
        "server-patching",
        1,
        2,
        (
            Step(50, "reply", "The cumulative update is still installing."),
            Step(60, "time", minutes=120),
            Step(12 * HOUR, "status", to="resolved"),
        ),
    ),
    Story(
        5,
        11,
        "Monitor flickers",
        "tier1-desk",
        3,
        3,
        (
            Step(HOUR, "reply", "A replacement cable is on its way."),
            Step(HOUR + 10, "time", minutes=15),
        ),
    ),
    Story(
        3,
        9.75,
        "Shared drive is full",
        "tier1-desk",
        2,
        2,
        (
            Step(30, "handoff", "Needs more storage on the file server.", to="nw"),
            Step(40, "reply", "Expanding the volume tonight."),
            Step(50, "time", minutes=30),
        ),
    ),
    Story(2, 15, "Wi-Fi slow in the Leeds office", "network", 3, 2),
    Story(
        1,
        10.5,
        "Keyboard missing keys",
        "tier1-desk",
        3,
        3,
        (Step(20, "note", "Spare keyboards are in the store room."),),
    ),
)

FABRIKAM_STORIES: tuple[Story, ...] = (
    Story(
        19,
        10,
        "Lab PC will not boot",
        "tier1-desk",
        3,
        2,
        (
            Step(HOUR, "reply", "The disk failed; restoring the image."),
            *_resolved(DAY, 60),
        ),
    ),
    Story(
        15,
        11,
        "Nightly backup missed",
        "backup",
        2,
        2,
        (
            Step(15, "reply", "Credentials had expired; fixed and rerun."),
            *_resolved(6 * HOUR, 60),
        ),
    ),
    Story(
        12,
        8.5,
        "SQL server in a reboot loop after patching",
        "server-patching",
        1,
        1,
        (
            Step(10, "reply", "Rolling back the update."),
            Step(HOUR, "handoff", "The database will not start: needs your DBA.", to="it"),
            Step(
                2 * HOUR, "handoff", "Database is fine; the service account lost rights.", to="nw"
            ),
            Step(3 * HOUR, "time", minutes=150),
            Step(10 * HOUR, "status", to="resolved"),
        ),
    ),
    Story(
        8,
        14,
        "Badge printer offline",
        "tier1-desk",
        3,
        3,
        (
            Step(3 * DAY, "reply", "Firmware update applied; printing again."),
            *_resolved(3 * DAY + HOUR, 35),
        ),
    ),
    Story(
        10,
        15,
        "Quote for new lab switches",
        "tier1-desk",
        3,
        3,
        (
            Step(DAY, "reply", "Asked two vendors; waiting for their quotes."),
            Step(DAY + 5, "status", to="waiting-third-party"),
            Step(DAY + 10, "time", minutes=30),
        ),
    ),
    Story(
        5,
        9.5,
        "File server disk warning",
        "server-patching",
        2,
        2,
        (
            Step(20, "reply", "Cleaning up old shadow copies."),
            Step(30, "time", minutes=25),
        ),
    ),
    Story(3, 13, "E-mail signature is wrong", "tier1-desk", 3, 3),
    Story(
        1,
        11,
        "Please restore last week's budget file",
        "backup",
        3,
        2,
        (Step(30, "reply", "Restoring from Friday's backup."),),
    ),
)


def _working_day(today: dt.date, days_ago: int) -> dt.date:
    """``days_ago`` working days (Monday to Friday) before ``today``."""
    day = today
    while days_ago > 0:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            days_ago -= 1
    return day


@contextmanager
def _acting(principal: Principal) -> Iterator[Principal]:
    with principal_scope(principal):
        yield principal


def _play_history(
    tenant: Tenant, stories: tuple[Story, ...], tech_email: str, *, site: Site | None
) -> None:
    """Open each story's ticket at its moment and play its steps as the holding party's
    technician. Steps whose moment has not come yet (a story of yesterday evening played
    early in the morning) are left out: nothing is recorded in the future."""
    now = timezone.now()
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    today = now.astimezone(zone).date()
    with system_context("demo history"):
        requester = User.objects.get(email=f"employee@{tenant.slug}.example")
        areas = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
        parties = dict(Party.objects.filter(tenant=tenant).values_list("pk", "kind"))
    techs = {
        "it": resolve_principal(User.objects.get(email=tech_email)),
        "nw": resolve_principal(User.objects.get(email="tech@northwind.example")),
        "sn": resolve_principal(User.objects.get(email="analyst@sentinel.example")),
    }
    by_party: dict[int, Principal] = {}
    for principal in techs.values():
        for access in principal.accesses_in(tenant.pk):
            if access.party_id is not None and access.party_id in parties:
                by_party.setdefault(access.party_id, principal)
    party_of = {
        key: party for key, p in techs.items() if (party := p.party_in(tenant.pk)) is not None
    }
    asker = resolve_principal(requester)
    for story in stories:
        day = _working_day(today, story.days_ago)
        hours, minutes = divmod(round(story.hour * 60), 60)
        opened = dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=zone)
        if opened >= now:
            continue
        with _acting(asker):
            ticket = ticket_services.create_ticket(
                actor=asker,
                tenant=tenant,
                requester=requester,
                subject=story.subject,
                description="Opened from the demo data.",
                service_area_id=areas[story.area],
                site_id=site.pk if site is not None else None,
                impact=story.impact,
                urgency=story.urgency,
                now=opened,
            )
        for step in story.steps:
            at = opened + dt.timedelta(minutes=step.after)
            if at >= now:
                break
            _play(step, ticket, by_party[ticket.party_id], at, party_of)


def _play(
    step: Step,
    ticket: Ticket,
    tech: Principal,
    at: dt.datetime,
    party_of: dict[str, int],
) -> None:
    with _acting(tech):
        if step.kind in ("reply", "note"):
            ticket_notes.add_comment(
                actor=tech,
                ticket=ticket,
                body=step.text,
                visibility="public" if step.kind == "reply" else "shared",
                now=at,
            )
        elif step.kind == "handoff":
            with system_context("demo handoff target"):
                to_party = Party.objects.get(pk=party_of[step.to])
            ticket_services.handoff_ticket(
                actor=tech, ticket=ticket, to_party=to_party, reason=step.text, now=at
            )
        elif step.kind == "time":
            ticket_notes.log_time(
                actor=tech, ticket=ticket, minutes=step.minutes, work_date=at.date(), note="Demo"
            )
        elif step.kind == "status":
            ticket_services.change_status(actor=tech, ticket=ticket, status=step.to, now=at)
        else:  # pragma: no cover - a typo in the stories above
            raise ValueError(f"unknown demo step {step.kind!r}")
        ticket.refresh_from_db()


def _open_todays_tickets(tenant: Tenant) -> None:
    """Three tickets opened as the demo loads, routed to each of Contoso's parties."""
    with system_context("demo desk"):
        employee = User.objects.get(email=f"employee@{tenant.slug}.example")
        areas = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
    requester = resolve_principal(employee)
    with _acting(requester):
        for subject, key, impact, urgency in (
            ("Laptop will not start", "tier1-desk", 3, 2),
            ("Payroll server very slow", "server-patching", 1, 2),
            ("Strange sign-in alert from Brazil", "security-monitoring", 1, 1),
        ):
            ticket_services.create_ticket(
                actor=requester,
                tenant=tenant,
                requester=employee,
                subject=subject,
                description="Opened from the demo data.",
                service_area_id=areas[key],
                impact=impact,
                urgency=urgency,
            )
