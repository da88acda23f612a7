from tandem.core.apps import TandemAppConfig

VIEW_DEVICE = "assets.view_device"
CHANGE_DEVICE = "assets.change_device"


class AssetsConfig(TandemAppConfig):
    """Devices: the tenant's computers and servers, placed in its sites and asset groups,
    linked from tickets and reported on by the endpoint agent (decision 0026)."""

    name = "tandem.assets"
    label = "assets"
    verbose_name = "Assets"
    tenant_sections = (("devices", "Devices", "assets:devices", "assets.view_device", 30),)
    # Every device the person sees, across tenants (a provider's client devices).
    workspace_links = (("all-devices", "Devices", "assets:all-devices", "assets.view_device", 30),)

    api_routers = ("tandem.assets.api.router",)
    url_modules = ("tandem.assets.urls",)
    permissions = (VIEW_DEVICE, CHANGE_DEVICE)
    # Devices that stopped checking in open tickets per the tenant's policy (decision 0032).
    schedule = (("check-offline-devices", 60, "tandem.assets.tasks.check_offline_devices_task"),)
    # The tenant's IT reads and changes its devices; auditors read them; providers read
    # (and their admins change) the devices inside their engagement's scope (policies).
    # Requesters see no device.
    role_permissions = {
        "tenant-owner": (VIEW_DEVICE, CHANGE_DEVICE),
        "internal-technician": (VIEW_DEVICE, CHANGE_DEVICE),
        "auditor": (VIEW_DEVICE,),
        "provider-admin": (VIEW_DEVICE, CHANGE_DEVICE),
        "provider-technician": (VIEW_DEVICE,),
    }

    isolation_expectations = ("tests.isolation.expect_assets",)
    test_world = ("tandem.assets.tests.world.build_assets_world",)

    def ready(self) -> None:
        from tandem.audit.references import register_reference

        # Audit entries name devices by id (a ticket's device links): the log shows names.
        register_reference(
            ("device_id", "device_ids"), kind="device", model="assets.Device", action=VIEW_DEVICE
        )
