"""Configuration of a scale run (decision 0011).

Providers, tenants, sites, engagements, calendars and SLA policies go through the real
services, so their audit entries, parties and desk settings are the real ones; categories,
the responsibility matrix and coverage are written in bulk (``_bulk_desk``) because their
services cost tens of milliseconds a row; people are bulk-inserted with one shared password
hash.

:func:`load_desk` then reads a tenant's desk back as the services see it (their cached
``desk_config``) into the plain :class:`~tandem.scale.desk.Desk` the generator works from.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.test.utils import override_settings

from tandem.accounts import access_cache
from tandem.accounts.models import Membership, Role, User
from tandem.audit.services import diff, record_audit
from tandem.core.principal import Principal
from tandem.responsibility import services as matrix_services
from tandem.responsibility.models import Coverage, ResponsibilityRow
from tandem.scale import plan as planning
from tandem.scale import texts
from tandem.scale.desk import Desk, PartyCalendars
from tandem.servicedesk import desk_config
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.config import sla_services as config_sla
from tandem.servicedesk.config.models import Category, DeskSettings
from tandem.tenancy.models import Party, Provider, ServiceArea, Tenant
from tandem.tenancy.services import (
    accept_engagement,
    create_provider,
    create_site,
    create_tenant,
    grant_engagement,
)

DOMAIN = "scale.test"
SITE_NAMES = ("Head office", "Branch office", "Data centre")
AROUND_THE_CLOCK = {str(day): [["00:00", "24:00"]] for day in range(7)}
PROVIDER_HOURS = {str(day): [["07:00", "19:00"]] for day in range(5)}
OFFICE_HOURS = (
    {str(day): [["08:00", "17:00"]] for day in range(5)},
    {str(day): [["08:30", "17:30"]] for day in range(5)},
    {str(day): [["08:00", "12:00"], ["13:00", "17:00"]] for day in range(5)},
)
#: Minutes of business time per priority: (first response, next update or None, resolution).
TARGETS: dict[str, tuple[int, int | None, int]] = {
    "1": (15, 60, 240),
    "2": (30, 120, 480),
    "3": (60, None, 1440),
    "4": (240, None, 2880),
    "5": (480, None, 7200),
}
PAUSES = {"resolution": ["waiting-requester", "waiting-third-party"]}
CATEGORY_NAMES = {
    "tier1-desk": "Laptop, desktop or printer",
    "endpoint-patching": "Updates on my computer",
    "server-patching": "Server problem",
    "backup": "Backup or restore",
    "security-monitoring": "Suspicious e-mail or alert",
    "identity": "Password or account",
    "network": "Network or Wi-Fi",
    "lob-apps": "Business application",
    "onboarding": "New starter or leaver",
    "cloud": "Cloud service",
}


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(texts.FIRST_NAMES)} {rng.choice(texts.LAST_NAMES)}"


@contextmanager
def tasks_run_at_once() -> Iterator[None]:
    """Run tasks enqueued by the configuration services at once, in this process.

    Creating an SLA policy or coverage queues a recompute of the tenant's open tickets. While
    a desk is being configured it has no tickets yet, so the recompute finds nothing, as it
    would with a worker running; without this the queue would keep thousands of stale jobs
    that recompute every generated open ticket the first time a worker starts.
    """

    backend = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    log = logging.getLogger("django_tasks")
    level = log.level
    log.setLevel(logging.WARNING)  # not two lines per (empty) recompute on the console
    try:
        with override_settings(TASKS=backend):
            yield
    finally:
        log.setLevel(level)


# --- People ------------------------------------------------------------------------------------


def bulk_people(
    people: list[tuple[str, str]], password_hash: str, batch_size: int = 2000
) -> dict[str, int]:
    """Insert users (e-mail, full name) sharing one password hash; returns e-mail -> id."""
    users = [User(email=email, full_name=name, password=password_hash) for email, name in people]
    User.objects.bulk_create(users, batch_size=batch_size)
    emails = [email for email, _ in people]
    found: dict[str, int] = {}
    for start in range(0, len(emails), batch_size):
        chunk = emails[start : start + batch_size]
        found.update(User.objects.filter(email__in=chunk).values_list("email", "pk"))
    return found


def bulk_memberships(rows: list[Membership], batch_size: int = 2000) -> None:
    Membership.objects.bulk_create(rows, batch_size=batch_size)
    access_cache.invalidate()  # bulk_create sends no signals


@dataclass
class ProviderStaff:
    provider_id: int
    #: (user id, e-mail) of the technicians and the admin: the people who work tickets.
    people: list[tuple[int, str]]


def create_providers(
    actor: Principal, plan: planning.Plan, password_hash: str, rng: random.Random
) -> dict[int, ProviderStaff]:
    """Providers through the service; their admin and technicians by bulk insert."""
    roles = dict(Role.objects.values_list("key", "pk"))
    staff: dict[int, ProviderStaff] = {}
    with transaction.atomic():
        for p in plan.providers:
            provider = create_provider(actor=actor, name=p.name, slug=p.slug)
            domain = f"{p.slug}.{DOMAIN}"
            people = [(f"admin@{domain}", person_name(rng))] + [
                (f"tech{n}@{domain}", person_name(rng)) for n in range(1, p.technicians + 1)
            ]
            ids = bulk_people(people, password_hash)
            bulk_memberships(
                [
                    Membership(
                        user_id=ids[email],
                        role_id=roles["provider-admin" if email.startswith("admin@") else
                                      "provider-technician"],
                        provider=provider,
                    )
                    for email, _ in people
                ]
            )  # fmt: skip
            staff[p.index] = ProviderStaff(
                provider.pk, [(ids[email], email) for email, _ in people]
            )
    return staff


# --- One tenant's desk ---------------------------------------------------------------------------


@dataclass
class TenantPeople:
    owner: tuple[int, str]
    technicians: list[tuple[int, str]]
    requesters: list[tuple[int, str]]

    @property
    def count(self) -> int:
        return 1 + len(self.technicians) + len(self.requesters)


def configure_tenant(
    actor: Principal,
    tenant_plan: planning.TenantPlan,
    plan: planning.Plan,
    staff: dict[int, ProviderStaff],
    password_hash: str,
    rng: random.Random,
    today: dt.date,
) -> tuple[Tenant, TenantPeople]:
    """Create the tenant, its sites, engagements and desk through the services, and its
    people in bulk. Runs in the caller's transaction."""
    t = tenant_plan
    tenant = create_tenant(
        actor=actor, name=t.name, slug=t.slug, time_zone=t.time_zone, country=t.country
    )
    sites = [
        create_site(actor=actor, tenant=tenant, name=name, time_zone=t.time_zone)
        for name in SITE_NAMES[: t.sites]
    ]
    areas = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
    kinds = {p.index: p.kind for p in plan.providers}
    providers = {p.index: p for p in plan.providers}
    parties: dict[int, Party] = {}
    for index in t.providers:
        p = providers[index]
        actions = ["tickets.work", "assets.view"]
        actions += {"mssp": ["security.triage"], "apps": []}.get(p.kind, ["patching.approve"])
        narrowed = p.kind == "infra" and len(sites) == 3 and rng.random() < 0.3
        engagement = grant_engagement(
            actor=actor,
            tenant=tenant,
            provider=Provider.objects.get(pk=staff[index].provider_id),
            name=f"{p.name} engagement",
            service_area_ids=[areas[key] for key in planning.PROVIDER_KINDS[p.kind]],
            site_ids=[sites[2].pk] if narrowed else [],
            allowed_actions=actions,
            starts_on=today - dt.timedelta(days=800 + rng.randrange(400)),
        )
        accept_engagement(actor=actor, engagement=engagement)
        parties[index] = Party.objects.get(engagement=engagement)
    internal = Party.objects.get(tenant=tenant, kind="internal")
    _configure_desk(actor, tenant, t, internal, parties, kinds, areas)
    people = _tenant_people(tenant, t, internal, password_hash, rng)
    return tenant, people


def _configure_desk(
    actor: Principal,
    tenant: Tenant,
    t: planning.TenantPlan,
    internal: Party,
    parties: dict[int, Party],
    kinds: dict[int, str],
    areas: dict[str, int],
) -> None:
    """Calendars, categories, the responsibility matrix, coverage and SLA policies."""
    office = config_sla.create_calendar(
        actor=actor,
        tenant=tenant,
        name="Office hours",
        time_zone=t.time_zone,
        weekly=OFFICE_HOURS[t.index % len(OFFICE_HOURS)],
        holiday_country=t.country,
        holiday_subdivision=t.subdivision,
    )
    calendars: dict[str, Any] = {}
    party_kinds = {kinds[i] for i in parties}
    if party_kinds & (planning.AROUND_THE_CLOCK_KINDS | {"msp"}):
        calendars["24/7"] = config_sla.create_calendar(
            actor=actor,
            tenant=tenant,
            name="Around the clock",
            time_zone=t.time_zone,
            weekly=AROUND_THE_CLOCK,
        )
    if party_kinds & {"msp", "apps"}:
        calendars["hours"] = config_sla.create_calendar(
            actor=actor,
            tenant=tenant,
            name="Provider hours",
            time_zone=t.time_zone,
            weekly=PROVIDER_HOURS,
        )
    _bulk_desk(actor, tenant, t, internal, parties, kinds, areas, office, calendars)
    config_sla.create_sla_policy(
        actor=actor,
        tenant=tenant,
        name="Internal IT OLA",
        party=internal,
        calendar_id=office.pk,
        targets=_targets(1.5),
        pause_statuses=PAUSES,
    )
    for index, party in parties.items():
        key = "24/7" if kinds[index] in planning.AROUND_THE_CLOCK_KINDS else "hours"
        config_sla.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name=f"{party.name} SLA",
            party=party,
            calendar_id=calendars[key].pk,
            targets=_targets(1.0),
            pause_statuses=PAUSES,
        )


def _bulk_desk(
    actor: Principal,
    tenant: Tenant,
    t: planning.TenantPlan,
    internal: Party,
    parties: dict[int, Party],
    kinds: dict[int, str],
    areas: dict[str, int],
    office: Any,
    calendars: dict[str, Any],
) -> None:
    """Categories, the responsibility matrix and coverage, written in bulk.

    Through the services these were 25 calls of 10-40 ms each per tenant (every matrix row
    snapshots the whole matrix), minutes for a full run. The rows are the ones the services
    would write, after the same checks (a provider is Responsible only inside its
    engagement, by construction of the plan); the matrix gets one version, the cached desk
    configuration a new token, and the tenant's chain one entry that lists them.
    """

    Category.objects.bulk_create(
        [
            Category(tenant=tenant, name=name, service_area_id=areas[key])
            for key, name in CATEGORY_NAMES.items()
        ]
    )
    owners = planning.responsibilities(t, kinds)
    rows: list[ResponsibilityRow] = []
    consulted: list[list[Party]] = []
    for key in texts.AREA_TEXTS:
        owner = owners[key]
        responsible = internal if owner is None else parties[owner]
        helpers = [
            party
            for index, party in parties.items()
            if party != responsible and key in planning.PROVIDER_KINDS[kinds[index]]
        ]
        if responsible != internal:
            helpers.append(internal)
        rows.append(
            ResponsibilityRow(
                tenant=tenant,
                service_area_id=areas[key],
                responsible=responsible,
                accountable=internal,
            )
        )
        consulted.append(helpers)
    ResponsibilityRow.objects.bulk_create(rows)
    through = ResponsibilityRow.consulted.through
    through.objects.bulk_create(
        [
            through(responsibilityrow_id=row.pk, party_id=party.pk)
            for row, helpers in zip(rows, consulted, strict=True)
            for party in helpers
        ]
    )
    coverage = [Coverage(tenant=tenant, party=internal, calendar=office)]
    for index, party in parties.items():
        kind = kinds[index]
        key = "24/7" if kind in planning.AROUND_THE_CLOCK_KINDS else "hours"
        coverage.append(Coverage(tenant=tenant, party=party, calendar=calendars[key]))
        if kind == "msp":
            # On call out of hours for P1 and P2.
            coverage.append(
                Coverage(tenant=tenant, party=party, calendar=calendars["24/7"], max_priority=2)
            )
    Coverage.objects.bulk_create(coverage)
    matrix_services.snapshot_matrix(actor, tenant, "Desk generated by tandem demo --scale")
    desk_config.invalidate(tenant.pk)  # bulk_create sends no signals
    record_audit(
        actor=actor,
        action="servicedesk.generate_scale_desk",
        target=tenant,
        tenant_id=tenant.pk,
        changes=diff(
            {},
            {
                "generator": "tandem demo --scale",
                "categories": sorted(CATEGORY_NAMES.values()),
                "matrix_rows": {
                    key: row.responsible_id for key, row in zip(texts.AREA_TEXTS, rows, strict=True)
                },
                "coverage": [[c.party_id, c.calendar.name, c.max_priority] for c in coverage],
            },
        ),
    )


def _targets(factor: float) -> dict[str, dict[str, int]]:
    """The SLA targets in minutes, loosened by ``factor`` (an internal OLA is looser)."""
    found: dict[str, dict[str, int]] = {}
    for priority, (first, update, resolve) in TARGETS.items():
        found[priority] = {
            "first_response": int(first * factor),
            "resolution": int(resolve * factor),
        }
        if update is not None:
            found[priority]["next_update"] = int(update * factor)
    return found


def _tenant_people(
    tenant: Tenant,
    t: planning.TenantPlan,
    internal: Party,
    password_hash: str,
    rng: random.Random,
) -> TenantPeople:
    """The owner, internal technicians it1..itN and requesters user1..userN, in bulk."""
    domain = f"{t.slug}.{DOMAIN}"
    owner = f"owner@{domain}"
    techs = [f"it{n}@{domain}" for n in range(1, t.technicians + 1)]
    users = [f"user{n}@{domain}" for n in range(1, t.requesters + 1)]
    ids = bulk_people(
        [(email, person_name(rng)) for email in [owner, *techs, *users]], password_hash
    )
    roles = dict(Role.objects.values_list("key", "pk"))
    bulk_memberships(
        [
            Membership(
                user_id=ids[owner], role_id=roles["tenant-owner"], tenant=tenant, party=internal
            )
        ]
        + [
            Membership(
                user_id=ids[e], role_id=roles["internal-technician"], tenant=tenant, party=internal
            )
            for e in techs
        ]
        + [Membership(user_id=ids[e], role_id=roles["requester"], tenant=tenant) for e in users]
    )
    return TenantPeople(
        owner=(ids[owner], owner),
        technicians=[(ids[e], e) for e in techs],
        requesters=[(ids[e], e) for e in users],
    )


def next_number(tenant: Tenant) -> int:
    """The tenant's next ticket number (its desk settings exist once the desk is set up)."""

    return int(DeskSettings.objects.get(tenant=tenant).next_number)


def finish_tenant(
    actor: Principal,
    tenant: Tenant,
    *,
    first_number: int,
    tickets: int,
    changes: dict[str, Any],
) -> None:
    """After a tenant's tickets are written (same transaction): move its ticket counter past
    them and append one audit entry that says what was written."""

    # A targeted UPDATE, as the services take numbers (DeskSettings.COUNTERS).
    moved = DeskSettings.objects.filter(tenant=tenant, next_number=first_number).update(
        next_number=F("next_number") + tickets
    )
    if moved != 1:
        raise RuntimeError(f"{tenant.slug}: ticket numbers were taken while generating")
    numbers = f"{first_number}-{first_number + tickets - 1}" if tickets else ""
    record_audit(
        actor=actor,
        action="servicedesk.generate_scale_data",
        target=tenant,
        tenant_id=tenant.pk,
        changes=diff({}, {**changes, "ticket_numbers": numbers}),
    )


def audit_provider_staff(actor: Principal, staff: dict[int, ProviderStaff]) -> None:
    """One instance-chain entry per provider for the staff written in bulk."""

    for provider in Provider.objects.filter(pk__in=[s.provider_id for s in staff.values()]):
        people = next(s.people for s in staff.values() if s.provider_id == provider.pk)
        record_audit(
            actor=actor,
            action="accounts.generate_scale_staff",
            target=provider,
            tenant_id=None,
            provider_id=provider.pk,
            changes=diff(
                {},
                {
                    "generator": "tandem demo --scale",
                    "provider_admins": 1,
                    "provider_technicians": len(people) - 1,
                },
            ),
        )


# --- The desk as plain data ------------------------------------------------------------------


def load_desk(
    tenant: Tenant,
    index: int,
    people: TenantPeople,
    staff: dict[int, ProviderStaff],
) -> Desk:
    """The tenant's desk as the services see it: their cached configuration
    (``servicedesk.desk_config``) plus the people who work and open its tickets."""

    config = desk_config.current(tenant.pk)
    area_ids = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
    site_ids = sorted(config.site_ids)
    context = config.routing_context(area_ids=area_ids.values(), site_ids=site_ids)
    priorities = {
        (impact, urgency): config_queries.priority_in(config.priority_matrix, impact, urgency)
        for impact in (1, 2, 3)
        for urgency in (1, 2, 3)
    }
    internal = config.internal_party_id
    by_provider = {s.provider_id: s for s in staff.values()}
    party_people: dict[int, list[tuple[int, str]]] = {internal: [people.owner, *people.technicians]}
    for party_id, provider_id in Party.objects.filter(
        tenant=tenant, provider__isnull=False
    ).values_list("pk", "provider_id"):
        party_people[party_id] = by_provider[provider_id].people
    return Desk(
        tenant_id=tenant.pk,
        index=index,
        time_zone=config.time_zone,
        areas=area_ids,
        categories={area: pk for pk, (area, active) in config.categories.items() if active},
        sites=site_ids,
        internal=internal,
        routing=context,
        eligible=dict(context.eligible),
        priorities=priorities,
        first_status=config.statuses[0][0],
        ping_pong_seconds=config.ping_pong_minutes * 60,
        people=party_people,
        requesters=people.requesters,
        policies=dict(config.policies),
        calendars=PartyCalendars(config.calendars),
    )
