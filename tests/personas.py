"""The shared test world: two tenants, four providers, and one login per persona.

Built once per test session through the real services (so audit chains are real), then every
test runs inside a transaction that is rolled back.

    Acme Corp (tenant A)                  Globex Industries (tenant B)
      sites: HQ, Branch                     sites: Plant
      asset groups: HQ servers, Branch PCs  asset groups: Plant PLCs
    (every name is distinctive, e.g. "Acme Branch site", so a leak shows up in page text)
      Northwind  engaged: server patching + backup, site HQ only
      Sentinel   engaged: security monitoring, whole tenant
      Watchtower engaged: security monitoring, site HQ only (a narrowed monitoring engagement)
      Narrow IT  engaged: network, site Branch only
      Lapsed Co  engaged, then suspended
      Spare Parts IT  granted, not yet accepted (pending)
                                            Northwind engaged: tier-1 desk, whole tenant
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pyotp
from django.utils.module_loading import import_string

from tandem.accounts.models import AccessVersion, Membership, Role, User
from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import add_membership, confirm_totp, create_user, start_totp_setup
from tandem.core.principal import system_principal
from tandem.core.registry import test_world_builders
from tandem.core.scoping import system_context
from tandem.tenancy.models import ServiceArea, Tenant
from tandem.tenancy.services import (
    accept_engagement,
    create_asset_group,
    create_provider,
    create_site,
    create_tenant,
    grant_engagement,
    suspend_engagement,
)

PASSWORD = "correct-horse-battery-staple"

#: Every persona the isolation matrix runs as, in a stable order.
PERSONAS = (
    "anonymous",
    "requester",
    "owner",
    "internal_tech",
    "provider_tech",
    "provider_admin",
    "out_of_scope_tech",
    "second_provider_tech",
    "narrowed_monitoring_tech",
    "other_tenant_owner",
    "suspended_provider_tech",
)

EMAILS = {
    "requester": "requester@acme.test",
    "owner": "owner@acme.test",
    "internal_tech": "tech@acme.test",
    "auditor": "auditor@acme.test",
    "provider_tech": "tech@northwind.test",
    "provider_admin": "admin@northwind.test",
    "out_of_scope_tech": "tech@narrow.test",
    "second_provider_tech": "analyst@sentinel.test",
    "narrowed_monitoring_tech": "analyst@watchtower.test",
    "other_tenant_owner": "owner@globex.test",
    "suspended_provider_tech": "tech@lapsed.test",
    "operator": "operator@tandem.test",
}


@dataclass
class World:
    """Primary keys of everything the world holds, by name."""

    ids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def _areas(tenant: Tenant, *keys: str) -> list[int]:
    with system_context("test world: service areas"):
        return list(
            ServiceArea.objects.filter(tenant=tenant, key__in=keys).values_list("pk", flat=True)
        )


def build_world() -> World:
    actor = system_principal("build the test world")
    with system_context("test: the access-version row (a flush removes it)"):
        AccessVersion.objects.get_or_create(pk=1)
    world = World()
    ids = world.ids
    users: dict[str, User] = {}
    for persona, email in EMAILS.items():
        users[persona] = create_user(
            actor=actor,
            email=email,
            full_name=persona.replace("_", " ").title(),
            password=PASSWORD,
            is_superuser=persona == "operator",
        )
        ids[f"user:{persona}"] = users[persona].pk

    acme = create_tenant(actor=actor, name="Acme Corp", slug="acme", time_zone="Europe/Berlin")
    globex = create_tenant(
        actor=actor, name="Globex Industries", slug="globex", time_zone="America/Chicago"
    )
    ids["tenant"], ids["other_tenant"] = acme.pk, globex.pk
    hq = create_site(actor=actor, tenant=acme, name="Acme HQ site")
    branch = create_site(actor=actor, tenant=acme, name="Acme Branch site")
    plant = create_site(actor=actor, tenant=globex, name="Globex Plant site")
    ids.update(site=hq.pk, site_out_of_scope=branch.pk, other_site=plant.pk)
    ids["asset_group"] = create_asset_group(
        actor=actor, tenant=acme, name="Acme HQ servers", site_id=hq.pk
    ).pk
    ids["asset_group_out_of_scope"] = create_asset_group(
        actor=actor, tenant=acme, name="Acme Branch PCs", site_id=branch.pk
    ).pk
    ids["other_asset_group"] = create_asset_group(
        actor=actor, tenant=globex, name="Globex Plant PLCs"
    ).pk

    northwind = create_provider(actor=actor, name="Northwind MSP", slug="northwind")
    sentinel = create_provider(actor=actor, name="Sentinel MSSP", slug="sentinel")
    narrow = create_provider(actor=actor, name="Narrow IT", slug="narrow")
    lapsed = create_provider(actor=actor, name="Lapsed Co", slug="lapsed")
    spare = create_provider(actor=actor, name="Spare Parts IT", slug="spare")
    fresh = create_provider(actor=actor, name="Fresh Desk Co", slug="fresh")
    watchtower = create_provider(actor=actor, name="Watchtower MSSP", slug="watchtower")
    ids.update(
        provider=northwind.pk,
        second_provider=sentinel.pk,
        narrow_provider=narrow.pk,
        suspended_provider=lapsed.pk,
        spare_provider=spare.pk,
        unengaged_provider=fresh.pk,
        narrowed_monitoring_provider=watchtower.pk,
    )

    e_main = grant_engagement(
        actor=actor,
        tenant=acme,
        provider=northwind,
        name="Northwind server care",
        service_area_ids=_areas(acme, "server-patching", "backup"),
        site_ids=[hq.pk],
        allowed_actions=["tickets.work", "patching.approve"],
    )
    e_sentinel = grant_engagement(
        actor=actor,
        tenant=acme,
        provider=sentinel,
        name="Sentinel monitoring",
        service_area_ids=_areas(acme, "security-monitoring"),
    )
    # Security monitoring like Sentinel's, narrowed to the HQ site: alerts, events and
    # findings of the HQ's devices only.
    e_watch = grant_engagement(
        actor=actor,
        tenant=acme,
        provider=watchtower,
        name="Watchtower HQ monitoring",
        service_area_ids=_areas(acme, "security-monitoring"),
        site_ids=[hq.pk],
    )
    e_narrow = grant_engagement(
        actor=actor,
        tenant=acme,
        provider=narrow,
        name="Narrow branch network",
        service_area_ids=_areas(acme, "network"),
        site_ids=[branch.pk],
    )
    e_lapsed = grant_engagement(
        actor=actor,
        tenant=acme,
        provider=lapsed,
        name="Lapsed old contract",
        service_area_ids=_areas(acme, "backup"),
    )
    e_other = grant_engagement(
        actor=actor,
        tenant=globex,
        provider=northwind,
        name="Northwind Globex desk",
        service_area_ids=_areas(globex, "tier1-desk"),
    )
    for engagement in (e_main, e_sentinel, e_watch, e_narrow, e_lapsed, e_other):
        accept_engagement(actor=actor, engagement=engagement)
    e_pending = grant_engagement(
        actor=actor,
        tenant=acme,
        provider=spare,
        name="Spare pending deal",
        service_area_ids=_areas(acme, "onboarding"),
    )
    suspend_engagement(actor=actor, engagement=e_lapsed, reason="Contract under review")
    ids.update(
        engagement=e_main.pk,
        second_engagement=e_sentinel.pk,
        narrow_engagement=e_narrow.pk,
        suspended_engagement=e_lapsed.pk,
        other_engagement=e_other.pk,
        pending_engagement=e_pending.pk,
        narrowed_monitoring_engagement=e_watch.pk,
    )
    with system_context("test world: ids"):
        ids["service_area"] = ServiceArea.objects.get(tenant=acme, key="server-patching").pk
        ids["service_area_out_of_scope"] = ServiceArea.objects.get(tenant=acme, key="identity").pk
        ids["other_service_area"] = ServiceArea.objects.get(tenant=globex, key="tier1-desk").pk
        ids["party"] = e_main.party.pk
        ids["internal_party"] = acme.party_set.get(kind="internal").pk
        ids["second_party"] = e_sentinel.party.pk
        ids["other_party"] = globex.party_set.get(kind="internal").pk

    role = {r.key: r for r in Role.objects.all()}
    memberships = {
        "requester": dict(role=role["requester"], tenant=acme),
        "owner": dict(role=role["tenant-owner"], tenant=acme),
        "internal_tech": dict(role=role["internal-technician"], tenant=acme),
        "auditor": dict(role=role["auditor"], tenant=acme),
        "provider_tech": dict(role=role["provider-technician"], provider=northwind),
        "provider_admin": dict(role=role["provider-admin"], provider=northwind),
        "out_of_scope_tech": dict(role=role["provider-technician"], provider=narrow),
        "second_provider_tech": dict(role=role["provider-technician"], provider=sentinel),
        "narrowed_monitoring_tech": dict(role=role["provider-technician"], provider=watchtower),
        "other_tenant_owner": dict(role=role["tenant-owner"], tenant=globex),
        "suspended_provider_tech": dict(role=role["provider-technician"], provider=lapsed),
    }
    for persona, spec in memberships.items():
        m = add_membership(actor=actor, user=users[persona], **spec)
        ids[f"membership:{persona}"] = m.pk
    ids["membership"] = ids["membership:internal_tech"]
    from tandem.accounts.services import create_api_token
    from tandem.core.principal import Principal

    owner_self = Principal(user_id=users["owner"].pk, label="owner")
    with system_context("test world: owner's token"):
        owner_membership = Membership.objects.get(pk=ids["membership:owner"])
    token, raw = create_api_token(
        actor=owner_self,
        user=users["owner"],
        membership=owner_membership,
        name="CI token",
        scope="write",
    )
    ids["token"] = token.pk
    world.secrets["owner_token"] = raw
    _build_tickets(world, users)
    ids["other_membership"] = ids["membership:other_tenant_owner"]
    ids["provider_membership"] = ids["membership:provider_tech"]
    # Each app adds its own objects (``TandemAppConfig.test_world``), in INSTALLED_APPS order.
    for path in test_world_builders():
        import_string(path)(world)
    return world


def membership_of(world: World, persona: str) -> Membership:
    with system_context("test: a persona's membership"):
        return Membership.objects.get(pk=world[f"membership:{persona}"])


def user_of(world: World, persona: str) -> User:
    return User.objects.get(pk=world[f"user:{persona}"])


def login_client(client: Any, world: World, persona: str) -> Any:
    """Sign ``client`` in as ``persona`` (anonymous stays signed out)."""
    if persona != "anonymous":
        client.force_login(user_of(world, persona))
    return client


def _build_tickets(world: World, users: dict[str, User]) -> None:
    """The desk (calendars, matrix, coverage, SLAs) and three tickets:

    - ``ticket``: Acme, server patching at the HQ site, from the requester, held by Acme IT
      (inside Northwind's engagement scope, outside Sentinel's and Narrow IT's);
    - ``sentinel_ticket``: Acme, security monitoring, from the owner, handed to Sentinel;
    - ``other_ticket``: Globex, tier-1 desk, from Globex's owner.
    """
    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope
    from tandem.servicedesk.tickets import services as ticket_services
    from tandem.tenancy.models import Party
    from tests.desk.setup import setup_desk

    setup_desk(world)
    actor = system_principal("test world: tickets")
    with system_context("test world: tickets"):
        acme = Tenant.objects.get(pk=world["tenant"])
        globex = Tenant.objects.get(pk=world["other_tenant"])
    requester = resolve_principal(users["requester"])
    with principal_scope(requester):
        ticket = ticket_services.create_ticket(
            actor=requester,
            tenant=acme,
            requester=users["requester"],
            subject="Acme file server is slow",
            category_id=world["category"],
            site_id=world["site"],
            impact=2,
            urgency=2,
        )
    with system_context("test world: tickets"):
        sentinel_ticket = ticket_services.create_ticket(
            actor=actor,
            tenant=acme,
            requester=users["owner"],
            subject="Acme suspicious sign-ins",
            service_area_id=ServiceArea.objects.get(tenant=acme, key="security-monitoring").pk,
            impact=1,
            urgency=1,
        )
        ticket_services.handoff_ticket(
            actor=actor,
            ticket=sentinel_ticket,
            to_party=Party.objects.get(pk=world["second_party"]),
            reason="Security incident",
        )
        other_ticket = ticket_services.create_ticket(
            actor=actor,
            tenant=globex,
            requester=users["other_tenant_owner"],
            subject="Globex printer jam",
            service_area_id=world["other_service_area"],
        )
    world.ids.update(
        ticket=ticket.pk, sentinel_ticket=sentinel_ticket.pk, other_ticket=other_ticket.pk
    )


def build_ticket_files_world(world: World) -> None:
    """An IT-shared file on ``ticket`` (``attachment``), attached by Acme's owner: Acme's IT
    reads it; the requester and the providers not involved in the ticket get 404."""
    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope
    from tandem.servicedesk.tickets import note_services as ticket_notes
    from tandem.servicedesk.tickets.models import Ticket

    owner = resolve_principal(user_of(world, "owner"))
    with principal_scope(owner):
        attachment = ticket_notes.attach_file(
            actor=owner,
            ticket=Ticket.objects.get(pk=world["ticket"]),
            filename="server-log.txt",
            content_type="text/plain",
            content=b"disk queue length 42\n",
            visibility="shared",
        )
    world.ids["attachment"] = attachment.pk


def build_queues_world(world: World) -> None:
    """The owner's saved view (a personal object: everyone else must get 404 for it)."""
    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope
    from tandem.servicedesk.queues.services import create_saved_view

    principal = resolve_principal(User.objects.get(pk=world["user:owner"]))
    with principal_scope(principal):
        view = create_saved_view(
            actor=principal, name="Acme breaching", filters={"sla": "breached"}
        )
    world.ids["saved_view"] = view.pk


def build_config_world(world: World) -> None:
    """Desk-configuration objects the isolation matrix targets beyond the desk itself:

    - ``spare_calendar``: an Acme calendar nothing uses (so it can be deleted);
    - ``retired_category``: a retired Acme category (so it can be offered again);
    - ``other_sla_policy``: a retired SLA policy of Globex's IT, on ``other_calendar`` (the
      one policy that can be put in force again: every Acme party with a policy has one in
      force, and an Acme one would change what the desk tests expect providers to read);
    - ``sla_policy`` (Northwind's SLA) and ``coverage`` (Acme IT's office hours): ids of
      what the desk set-up created.
    """
    from tandem.responsibility.models import Coverage
    from tandem.servicedesk.config import services as config_services
    from tandem.servicedesk.config import sla_services as config_sla
    from tandem.sla.models import SlaPolicy
    from tandem.tenancy.models import Party
    from tests.desk.setup import OFFICE

    actor = system_principal("test world: desk configuration")
    with system_context("test world: desk configuration"):
        acme = Tenant.objects.get(pk=world["tenant"])
        globex = Tenant.objects.get(pk=world["other_tenant"])
        spare = config_sla.add_calendar(
            actor=actor,
            tenant=acme,
            name="Weekend on-call",
            time_zone="Europe/Berlin",
            weekly={"5": [["09:00", "13:00"]]},
        )
        retired = config_services.create_category(
            actor=actor,
            tenant=acme,
            name="Old printer requests",
            service_area_id=world["service_area"],
        )
        config_services.retire_category(actor=actor, category=retired)
        plant = config_sla.add_calendar(
            actor=actor,
            tenant=globex,
            name="Plant hours",
            time_zone="America/Chicago",
            weekly=OFFICE,
        )
        other_policy = config_sla.add_sla_policy(
            actor=actor,
            tenant=globex,
            name="Globex OLA 2025",
            party_id=world["other_party"],
            calendar_id=plant.pk,
            targets={"3": {"resolution": 2880}},
        )
        config_sla.deactivate_sla_policy(actor=actor, policy=other_policy)
        world.ids.update(
            spare_calendar=spare.pk,
            retired_category=retired.pk,
            other_calendar=plant.pk,
            other_sla_policy=other_policy.pk,
            sla_policy=SlaPolicy.objects.get(tenant=acme, party_id=world["party"]).pk,
            coverage=Coverage.objects.get(
                tenant=acme, party=Party.objects.get(pk=world["internal_party"])
            ).pk,
        )


def build_intake_world(world: World) -> None:
    """Canned replies: ``canned_reply``, Acme's own (tenant-wide: Acme's IT and every
    provider engaged by Acme read it), and ``party_canned_reply``, Northwind's (Northwind
    alone reads it)."""
    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope
    from tandem.servicedesk.config import services as config_services

    for persona, name, shared in (
        ("owner", "Acme password reset steps", True),
        ("provider_tech", "Northwind reboot window note", False),
    ):
        principal = resolve_principal(user_of(world, persona))
        with principal_scope(principal), system_context("test world: the tenant"):
            tenant = Tenant.objects.get(pk=world["tenant"])
        with principal_scope(principal):
            reply = config_services.create_canned_reply(
                actor=principal,
                tenant=tenant,
                name=name,
                body=f"{name}: the text.",
                shared=shared,
            )
        world.ids["canned_reply" if shared else "party_canned_reply"] = reply.pk


def enrol_totp(world, persona: str) -> str:  # type: ignore[no-untyped-def]
    """Give a persona a confirmed authenticator; return its secret."""
    user = user_of(world, persona)
    actor = resolve_principal(user)
    device = start_totp_setup(actor=actor, user=user)
    # Confirm with the previous step's code so that the current one is still unused.
    code = pyotp.TOTP(device.secret).at(time.time() - 30)
    confirm_totp(actor=actor, user=user, code=code)
    return device.secret
