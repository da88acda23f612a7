"""The detection app's permissions (declared in ``apps.py``, decision 0044)."""

#: Read the installed packs and the tenant's rule choices and custom rules.
VIEW_RULES = "detection.view_rules"
#: Turn packs and rules off and on, upload, edit and delete custom rules.
CHANGE_RULES = "detection.change_rules"

#: What an engagement must allow for a provider to change the tenant's rules (tenancy's
#: ``ENGAGEMENT_ACTIONS``): the tenant decides, on top of the provider's roles.
ENGAGEMENT_RULES = "security.rules"
#: The service area whose engagement lets a provider see and tune the tenant's rules (the
#: same area that routes the alerts: tenancy's default areas).
SECURITY_AREA_KEY = "security-monitoring"
