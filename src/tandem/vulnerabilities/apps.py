from tandem.core.apps import TandemAppConfig
from tandem.vulnerabilities.permissions import ACCEPT_VULNERABILITY_RISK, VIEW_VULNERABILITIES


class VulnerabilitiesConfig(TandemAppConfig):
    """Vulnerability findings (decision 0038): OSV and Debian Security Tracker advisories
    imported from local files into an instance-wide store, each device's installed software
    matched against them (dpkg and rpm ordering, source packages), and per tenant the
    findings with their severity, fix, status and the patching update that fixes them."""

    name = "tandem.vulnerabilities"
    label = "vulnerabilities"
    verbose_name = "Vulnerabilities"
    tenant_sections = (
        (
            "vulnerabilities",
            "Vulnerabilities",
            "vulnerabilities:vuln-dashboard",
            VIEW_VULNERABILITIES,
            36,
        ),
    )

    api_routers = ("tandem.vulnerabilities.api.router",)
    url_modules = ("tandem.vulnerabilities.urls",)
    permissions = (VIEW_VULNERABILITIES, ACCEPT_VULNERABILITY_RISK)
    # The tenant's own IT reads and carries the risk (accepts it); a provider's people read
    # the findings of the devices in their engagement's scope and fix them by patching.
    role_permissions = {
        "tenant-owner": (VIEW_VULNERABILITIES, ACCEPT_VULNERABILITY_RISK),
        "internal-technician": (VIEW_VULNERABILITIES, ACCEPT_VULNERABILITY_RISK),
        "auditor": (VIEW_VULNERABILITIES,),
        "provider-admin": (VIEW_VULNERABILITIES,),
        "provider-technician": (VIEW_VULNERABILITIES,),
    }
    cli_commands = ("tandem.vulnerabilities.cli",)
    # Every ten minutes: devices whose software changed since they were last matched (the
    # check-in records no event for an inventory change, only for pending updates), and
    # accepted risks past their expiry.
    schedule = (
        ("match-vulnerabilities", 600, "tandem.vulnerabilities.tasks.match_vulnerabilities_task"),
    )
    isolation_expectations = ("tests.isolation.expect_vulnerabilities",)
    test_world = ("tandem.vulnerabilities.tests.world.build_vulnerabilities_world",)

    def ready(self) -> None:
        from tandem.assets.queries import register_device_section
        from tandem.vulnerabilities.sections import findings_section

        # The device page (assets) shows the device's findings without knowing this app.
        register_device_section(findings_section)
