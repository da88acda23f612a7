from tandem.alerts.permissions import (
    CHANGE_ALERT_SETTINGS,
    CHANGE_SUPPRESSION,
    REACH_ALERTS,
    TRIAGE_ALERT,
    VIEW_ALERT,
)
from tandem.core.apps import TandemAppConfig


class AlertsConfig(TandemAppConfig):
    """Security alerts (decision 0037): detections of the tenant's events, deduplicated by
    rule × host × key fields within a window, with a severity from the rule's level, ATT&CK
    tactics and techniques, statuses, suppressions with a reason and an expiry, and one
    ticket per alert opened by the desk (routed by the responsibility matrix's security
    monitoring area to the party covering the hour)."""

    name = "tandem.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    # Linked for those whose alerts are within reach (not a provider engaged for other work,
    # which holds the permission by role and would meet a 404 or an empty queue).
    tenant_sections = (("alerts", "Alerts", "alerts:tenant-alerts", REACH_ALERTS, 32),)
    # The alert queue across tenants (the security monitoring provider's).
    workspace_links = (("alert-queue", "Alerts", "alerts:alert-queue", REACH_ALERTS, 35),)

    # Forget the keys of recorded stream batches after a week (decision 0046).
    schedule = (
        ("purge-recorded-batches", 86400, "tandem.alerts.services.purge_recorded_batches_task"),
    )
    api_routers = ("tandem.alerts.api.router",)
    # The detection worker (decision 0041) feeds alerts from the event stream.
    cli_commands = ("tandem.alerts.cli",)
    url_modules = ("tandem.alerts.urls",)
    permissions = (VIEW_ALERT, TRIAGE_ALERT, CHANGE_SUPPRESSION, CHANGE_ALERT_SETTINGS)
    # The tenant's IT sees, triages and suppresses its alerts and sets the dedup window;
    # a provider's people do so within an engagement covering security monitoring (and
    # allowing triage, checked by the policies); a provider's admin also suppresses.
    # Auditors read. Requesters see no alerts.
    role_permissions = {
        "tenant-owner": (VIEW_ALERT, TRIAGE_ALERT, CHANGE_SUPPRESSION, CHANGE_ALERT_SETTINGS),
        "internal-technician": (
            VIEW_ALERT,
            TRIAGE_ALERT,
            CHANGE_SUPPRESSION,
            CHANGE_ALERT_SETTINGS,
        ),
        "auditor": (VIEW_ALERT,),
        "provider-admin": (VIEW_ALERT, TRIAGE_ALERT, CHANGE_SUPPRESSION),
        "provider-technician": (VIEW_ALERT, TRIAGE_ALERT),
    }
    isolation_expectations = ("tests.isolation.expect_alerts",)
    test_world = ("tandem.alerts.tests.world.build_alerts_world",)
