from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tandem.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

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
