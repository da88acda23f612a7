"""``tandem`` sub-commands of tenancy: tenants and providers, listed and created, and
engagements granted (an operator's set-up, as the system)."""

from __future__ import annotations

import argparse
from typing import Any

from tandem.core.cli import CommandError, Commands, parse_date, print_table, system_actor


def cmd_tenants(args: argparse.Namespace) -> int:
    """Every tenant with the slug other commands take, and the providers it engaged."""
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Engagement, Tenant

    with system_context("cli tenants"):
        tenants = list(Tenant.objects.order_by("slug").values_list("pk", "slug", "name"))
        engaged: dict[int, list[str]] = {}
        for tenant_id, provider_slug, status in Engagement.objects.order_by(
            "provider__slug"
        ).values_list("tenant_id", "provider__slug", "status"):
            engaged.setdefault(tenant_id, []).append(f"{provider_slug} ({status})")
    print_table(
        ("SLUG", "NAME", "PROVIDERS"),
        [(slug, name, ", ".join(engaged.get(pk, [])) or "-") for pk, slug, name in tenants],
        empty="No tenants yet: `tandem createtenant NAME SLUG` or `tandem demo`.",
    )
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    """Every provider with the slug other commands take, and the tenants that engaged it."""
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Engagement, Provider

    with system_context("cli providers"):
        providers = list(Provider.objects.order_by("slug").values_list("pk", "slug", "name"))
        engaged: dict[int, list[str]] = {}
        for provider_id, tenant_slug, status in Engagement.objects.order_by(
            "tenant__slug"
        ).values_list("provider_id", "tenant__slug", "status"):
            engaged.setdefault(provider_id, []).append(f"{tenant_slug} ({status})")
    print_table(
        ("SLUG", "NAME", "ENGAGED BY"),
        [(slug, name, ", ".join(engaged.get(pk, [])) or "-") for pk, slug, name in providers],
        empty="No providers yet: `tandem createprovider NAME SLUG` or `tandem demo`.",
    )
    return 0


def cmd_createtenant(args: argparse.Namespace) -> int:
    from tandem.accounts.services import create_tenant_with_owner
    from tandem.core.scoping import system_context

    with system_context("cli createtenant"):
        tenant = create_tenant_with_owner(
            actor=system_actor("createtenant"),
            name=args.name,
            slug=args.slug,
            time_zone=args.time_zone,
            country=args.country,
            require_mfa=args.require_mfa,
            owner_email=args.owner,
        )
    print(f"Created tenant {tenant.name} ({tenant.slug}, id {tenant.pk}).")
    if args.owner:
        print(f"Owner: {args.owner}. They set a password through 'Forgot password?'.")
    return 0


def cmd_createprovider(args: argparse.Namespace) -> int:
    from tandem.core.scoping import system_context
    from tandem.tenancy.services import create_provider

    with system_context("cli createprovider"):
        provider = create_provider(
            actor=system_actor("createprovider"),
            name=args.name,
            slug=args.slug,
            require_mfa=args.require_mfa,
        )
        if args.admin:
            from tandem.accounts.models import Role
            from tandem.accounts.services import invite_member

            invite_member(
                actor=system_actor("createprovider"),
                email=args.admin,
                full_name="",
                role=Role.objects.get(key="provider-admin"),
                provider=provider,
            )
    print(f"Created provider {provider.name} ({provider.slug}, id {provider.pk}).")
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import AssetGroup, Provider, ServiceArea, Site, Tenant
    from tandem.tenancy.services import accept_engagement, grant_engagement

    actor = system_actor("grant")
    with system_context("cli grant"):
        tenant = Tenant.objects.filter(slug=args.tenant).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {args.tenant!r}")
        provider = Provider.objects.filter(slug=args.provider).first()
        if provider is None:
            raise CommandError(f"no provider with slug {args.provider!r}")

        def ids(model: Any, field: str, names: list[str], what: str) -> list[int]:
            found = dict(
                model.objects.filter(tenant=tenant, **{f"{field}__in": names}).values_list(
                    field, "pk"
                )
            )
            missing = sorted(set(names) - set(found))
            if missing:
                raise CommandError(f"unknown {what} in {tenant.slug}: {', '.join(missing)}")
            return list(found.values())

        engagement = grant_engagement(
            actor=actor,
            tenant=tenant,
            provider=provider,
            name=args.name or f"{provider.name} engagement",
            service_area_ids=ids(ServiceArea, "key", args.area, "service areas"),
            site_ids=ids(Site, "name", args.site or [], "sites"),
            asset_group_ids=ids(AssetGroup, "name", args.asset_group or [], "asset groups"),
            allowed_actions=args.allow or [],
            starts_on=args.starts,
            ends_on=args.ends,
        )
        if args.accept:
            accept_engagement(actor=actor, engagement=engagement)
    print(
        f"Granted engagement {engagement.pk} ({engagement.status}) "
        f"to {provider.name} in {tenant.name}."
    )
    return 0


def register(commands: Commands) -> None:
    add = commands.add
    add("tenants", cmd_tenants, "List tenants: slug, name and the providers they engaged.")
    add("providers", cmd_providers, "List providers: slug, name and the tenants engaging them.")

    p = add("createtenant", cmd_createtenant, "Create a tenant (client company).")
    p.add_argument("name")
    p.add_argument("slug")
    p.add_argument("--owner", metavar="EMAIL", help="make this person the tenant owner")
    p.add_argument("--time-zone", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    p.add_argument("--country", default="", help="two-letter country code")
    p.add_argument("--require-mfa", action="store_true", help="enforce a second factor")

    p = add("createprovider", cmd_createprovider, "Create a provider (MSP or MSSP).")
    p.add_argument("name")
    p.add_argument("slug")
    p.add_argument("--admin", metavar="EMAIL", help="make this person the provider's admin")
    p.add_argument("--require-mfa", action="store_true", help="enforce a second factor")

    p = add("grant", cmd_grant, "Grant a provider an engagement in a tenant.")
    p.add_argument("tenant", help="tenant slug")
    p.add_argument("provider", help="provider slug")
    p.add_argument("--name", help="engagement name")
    p.add_argument(
        "--area",
        action="append",
        required=True,
        metavar="KEY",
        help="service area key (repeat), e.g. server-patching",
    )
    p.add_argument("--site", action="append", metavar="NAME", help="narrow to a site (repeat)")
    p.add_argument(
        "--asset-group", action="append", metavar="NAME", help="narrow to an asset group (repeat)"
    )
    p.add_argument("--allow", action="append", metavar="ACTION", help="allowed action (repeat)")
    p.add_argument("--starts", type=parse_date, help="start date (default today)")
    p.add_argument("--ends", type=parse_date, help="end date")
    p.add_argument(
        "--accept", action="store_true", help="accept on the provider's behalf (operator set-up)"
    )
