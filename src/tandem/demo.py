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
    northwind = create_provider(actor=actor, name="Northwind MSP", slug="northwind")
    sentinel = create_provider(actor=actor, name="Sentinel Security", slug="sentinel")

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
