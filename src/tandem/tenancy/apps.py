from tandem.core.apps import TandemAppConfig

#: What everyone working in a tenant's IT may read of it.
TENANT_READ = (
    "tenancy.view_tenant",
    "tenancy.view_engagement",
    "tenancy.view_party",
    "tenancy.view_site",
    "tenancy.view_assetgroup",
    "tenancy.view_servicearea",
    "tenancy.view_provider",
)
_KEEP_SITES = (
    "tenancy.add_site",
    "tenancy.change_site",
    "tenancy.add_assetgroup",
    "tenancy.change_assetgroup",
)


class TenancyConfig(TandemAppConfig):
    name = "tandem.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
    # The side navigation (core.apps.NavLink): overview first, configuration after the
    # desk's and devices' sections, settings last.
    tenant_sections = (
        ("overview", "Overview", "tenancy:tenant", "tenancy.view_tenant", 10),
        ("engagements", "Engagements", "tenancy:engagements", "tenancy.view_engagement", 60),
        ("sites", "Sites", "tenancy:sites", "tenancy.view_site", 70),
        ("asset-groups", "Asset groups", "tenancy:asset-groups", "tenancy.view_assetgroup", 80),
        (
            "service-areas",
            "Service areas",
            "tenancy:service-areas",
            "tenancy.view_servicearea",
            90,
        ),
        ("settings", "Settings", "tenancy:tenant-settings", "tenancy.change_tenant", 120),
    )

    api_routers = ("tandem.tenancy.api.router",)
    url_modules = ("tandem.tenancy.urls",)
    cli_commands = ("tandem.tenancy.cli",)
    permissions = (
        *TENANT_READ,
        *_KEEP_SITES,
        "tenancy.change_tenant",
        "tenancy.grant_engagement",
        "tenancy.rescope_engagement",
        "tenancy.suspend_engagement",
        "tenancy.end_engagement",
        "tenancy.accept_engagement",
        "tenancy.change_provider",
        "tenancy.add_servicearea",
        "tenancy.change_servicearea",
    )
    role_permissions = {
        "tenant-owner": (
            *TENANT_READ,
            "tenancy.change_tenant",
            "tenancy.grant_engagement",
            "tenancy.rescope_engagement",
            "tenancy.suspend_engagement",
            "tenancy.end_engagement",
            *_KEEP_SITES,
            "tenancy.add_servicearea",
            "tenancy.change_servicearea",
        ),
        "internal-technician": (*TENANT_READ, *_KEEP_SITES),
        "auditor": TENANT_READ,
        "requester": ("tenancy.view_tenant",),
        "provider-admin": (
            *TENANT_READ,
            "tenancy.accept_engagement",
            "tenancy.change_provider",
        ),
        "provider-technician": TENANT_READ,
    }

    def ready(self) -> None:
        from tandem.audit.references import register_reference

        # The ids services record in audit changes, named on the audit log (audit.references).
        for fields, kind, model, action in (
            (
                (
                    "party_id",
                    "from_party_id",
                    "to_party_id",
                    "responsible_id",
                    "accountable_id",
                    "consulted_ids",
                    "informed_ids",
                ),
                "party",
                "tenancy.Party",
                "tenancy.view_party",
            ),
            (
                ("service_area_id", "service_area_ids", "servicearea_id"),
                "service area",
                "tenancy.ServiceArea",
                "tenancy.view_servicearea",
            ),
            (("site_id", "site_ids"), "site", "tenancy.Site", "tenancy.view_site"),
            (
                ("asset_group_id", "asset_group_ids", "assetgroup_id"),
                "asset group",
                "tenancy.AssetGroup",
                "tenancy.view_assetgroup",
            ),
            (
                ("provider_id", "provider_ids"),
                "provider",
                "tenancy.Provider",
                "tenancy.view_provider",
            ),
            (("engagement_id",), "engagement", "tenancy.Engagement", "tenancy.view_engagement"),
        ):
            register_reference(fields, kind=kind, model=model, action=action)
