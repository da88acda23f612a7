"""The alerts app's permissions (declared in ``apps.py``, decision 0037)."""

#: Read alerts, their events and the tenant's suppressions (within the engagement's scope).
VIEW_ALERT = "alerts.view_alert"
#: Acknowledge, mark as false positive, resolve.
TRIAGE_ALERT = "alerts.triage_alert"
#: Create and lift suppressions.
CHANGE_SUPPRESSION = "alerts.change_suppression"
#: Set the tenant's alert settings (the dedup window): the tenant's own IT.
CHANGE_ALERT_SETTINGS = "alerts.change_alertsettings"
#: Whether the alert pages get a link in the menus (an action, not a role's permission:
#: ``VIEW_ALERT`` held where the alerts are within reach; policies.reach_alerts).
REACH_ALERTS = "alerts.reach_alerts"

#: What an engagement must allow for a provider to triage or suppress (the tenant decides,
#: on top of the provider's roles; tenancy's ``ENGAGEMENT_ACTIONS``).
ENGAGEMENT_TRIAGE = "security.triage"
#: The service area whose engagement lets a provider see the tenant's alerts, and whose
#: row of the responsibility matrix routes their tickets (tenancy's default areas).
SECURITY_AREA_KEY = "security-monitoring"
