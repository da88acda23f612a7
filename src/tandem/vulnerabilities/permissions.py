"""The vulnerabilities app's permissions (declared in ``apps.py``)."""

#: Read findings (within scope) and the advisories they name.
VIEW_VULNERABILITIES = "vulnerabilities.view_finding"
#: Accept the risk of a finding (reason and expiry) or reopen it: the tenant's own IT.
ACCEPT_VULNERABILITY_RISK = "vulnerabilities.accept_risk"
