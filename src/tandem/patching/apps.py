from tandem.core.apps import TandemAppConfig
from tandem.patching.permissions import APPROVE_UPDATES, CHANGE_PATCH_POLICY, VIEW_PATCHING


class PatchingConfig(TandemAppConfig):
    """Patch management (decision 0031): the update catalogue, each device's update states
    kept in step with its agent, approval policies inherited tenant → site → asset group →
    device, rings, maintenance windows, reboot policy, approvals by the party the
    responsibility matrix names, and the install plans that jobs are made from."""

    name = "tandem.patching"
    label = "patching"
    verbose_name = "Patching"
    tenant_sections = (("patching", "Patching", "patching:patch-dashboard", VIEW_PATCHING, 35),)
    # The reader's approval queue and the compliance summary, across its tenants.
    workspace_links = (
        ("patch-approvals", "Patch approvals", "patching:patch-approvals", APPROVE_UPDATES, 45),
        (
            "patch-compliance",
            "Patch compliance",
            "patching:patch-compliance-summary",
            VIEW_PATCHING,
            46,
        ),
    )

    api_routers = ("tandem.patching.api.router",)
    url_modules = ("tandem.patching.urls",)
    permissions = (VIEW_PATCHING, CHANGE_PATCH_POLICY, APPROVE_UPDATES)
    # The tenant's IT sets the rules and approves; a provider's people read within scope,
    # and its admins and technicians approve where the matrix names their party (the
    # service checks the party: holding the permission is not enough). Auditors read.
    role_permissions = {
        "tenant-owner": (VIEW_PATCHING, CHANGE_PATCH_POLICY, APPROVE_UPDATES),
        "internal-technician": (VIEW_PATCHING, CHANGE_PATCH_POLICY, APPROVE_UPDATES),
        "auditor": (VIEW_PATCHING,),
        "provider-admin": (VIEW_PATCHING, APPROVE_UPDATES),
        "provider-technician": (VIEW_PATCHING, APPROVE_UPDATES),
    }
    cli_commands = ("tandem.patching.cli",)
    # Every five minutes: a window opens at most five minutes before its job is handed out
    # (the agent's next check-in then takes it); a run is a few queries per tenant with
    # approved updates, and makes at most 500 jobs.
    # Every minute: compliance snapshots marked changed (a sync, new settings) are
    # refreshed within a minute; the others every 15 minutes (decision 0048).
    schedule = (
        ("schedule-installs", 300, "tandem.patching.tasks.schedule_installs_task"),
        (
            "refresh-compliance-snapshots",
            60,
            "tandem.patching.tasks.refresh_compliance_snapshots_task",
        ),
    )
    isolation_expectations = ("tests.isolation.expect_patching",)
    test_world = ("tandem.patching.tests.world.build_patching_world",)

    def ready(self) -> None:
        from tandem.assets.queries import register_device_section
        from tandem.patching.sections import updates_section

        # The device page (assets) shows the device's updates without knowing patching.
        register_device_section(updates_section)
