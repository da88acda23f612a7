"""Demo data: two client companies, two providers, and one login per persona.

Everything is created through services with a system principal, so the demo's audit chains
are as real as production ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tandem.accounts.models import Role, User
from tandem.accounts.services import add_membership, create_user
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import ServiceArea, Tenant
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
    _load_desk(actor, contoso, engagements[0], engagements[2])


OFFICE_HOURS = {str(day): [["08:30", "17:30"]] for day in range(5)}
AROUND_THE_CLOCK = {str(day): [["00:00", "24:00"]] for day in range(7)}


def _load_desk(actor: Principal, tenant: Tenant, northwind, sentinel) -> None:  # type: ignore[no-untyped-def]
    """Contoso's co-managed desk: internal IT owns the desk in office hours, Northwind covers
    urgent tickets around the clock and owns patching, Sentinel owns security monitoring."""
    from tandem.servicedesk import services as desk
    from tandem.tenancy.models import Party

    with system_context("demo desk"):
        internal = Party.objects.get(tenant=tenant, kind="internal")
        nw_party = Party.objects.get(engagement=northwind)
        sn_party = Party.objects.get(engagement=sentinel)
        areas = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
        office = desk.create_calendar(
            actor=actor,
            tenant=tenant,
            name="London office hours",
            time_zone="Europe/London",
            weekly=OFFICE_HOURS,
            holiday_country="GB",
            holiday_subdivision="ENG",
        )
        nonstop = desk.create_calendar(
            actor=actor,
            tenant=tenant,
            name="24/7",
            time_zone="Europe/London",
            weekly=AROUND_THE_CLOCK,
        )
        for name, key in (
            ("Laptop or desktop", "tier1-desk"),
            ("Server problem", "server-patching"),
            ("New starter", "onboarding"),
            ("Suspicious e-mail", "security-monitoring"),
        ):
            desk.create_category(actor=actor, tenant=tenant, name=name, service_area_id=areas[key])
        rows = [
            ("tier1-desk", internal, [nw_party]),
            ("onboarding", internal, []),
            ("lob-apps", internal, []),
            ("server-patching", nw_party, [internal]),
            ("endpoint-patching", nw_party, [internal]),
            ("backup", nw_party, []),
            ("network", nw_party, [internal]),
            ("security-monitoring", sn_party, [internal]),
            ("identity", sn_party, [internal]),
        ]
        for key, responsible, consulted in rows:
            desk.add_matrix_row(
                actor=actor,
                tenant=tenant,
                service_area_id=areas[key],
                responsible_id=responsible.pk,
                accountable_id=internal.pk,
                consulted_ids=[p.pk for p in consulted],
            )
        desk.add_coverage(actor=actor, tenant=tenant, party=internal, calendar_id=office.pk)
        desk.add_coverage(
            actor=actor, tenant=tenant, party=nw_party, calendar_id=nonstop.pk, max_priority=2
        )
        desk.add_coverage(actor=actor, tenant=tenant, party=sn_party, calendar_id=nonstop.pk)
        targets = {
            "1": {"first_response": 15, "next_update": 60, "resolution": 240},
            "2": {"first_response": 30, "next_update": 120, "resolution": 480},
            "3": {"first_response": 60, "resolution": 1440},
            "4": {"first_response": 240, "resolution": 2880},
            "5": {"first_response": 480, "resolution": 7200},
        }
        pauses = {"resolution": ["waiting-requester", "waiting-third-party"]}
        desk.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="Contoso IT OLA",
            party=internal,
            calendar_id=office.pk,
            targets=targets,
            pause_statuses=pauses,
        )
        desk.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="Northwind SLA",
            party=nw_party,
            calendar_id=nonstop.pk,
            targets=targets,
            pause_statuses=pauses,
        )
        desk.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="Sentinel SLA",
            party=sn_party,
            calendar_id=nonstop.pk,
            targets=targets,
        )
        employee = User.objects.get(email="employee@contoso.example")
        from tandem.accounts.principals import resolve_principal
        from tandem.core.scoping import principal_scope

        requester = resolve_principal(employee)
    with principal_scope(requester):
        for subject, key, impact, urgency in (
            ("Laptop will not start", "tier1-desk", 3, 2),
            ("Payroll server very slow", "server-patching", 1, 2),
            ("Strange sign-in alert from Brazil", "security-monitoring", 1, 1),
        ):
            desk.create_ticket(
                actor=requester,
                tenant=tenant,
                requester=employee,
                subject=subject,
                description="Opened from the demo data.",
                service_area_id=areas[key],
                impact=impact,
                urgency=urgency,
            )
