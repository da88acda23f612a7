"""Who sees and decides what of vulnerability findings (decision 0038).

- Findings follow their device (as patching's update states, decision 0031): the tenant's
  own people see all, a provider the devices inside its engagement's sites and groups.
- Accepting a finding's risk (and reopening it) is the tenant's own IT's
  (``internal_only``): the risk is the tenant's to carry, whoever patches its devices. A
  provider reads and fixes; it does not sign the client's risk away.
"""

from __future__ import annotations

from tandem.core.policies import ScopedPermission, policy
from tandem.patching.policies import state_scope
from tandem.vulnerabilities.permissions import ACCEPT_VULNERABILITY_RISK, VIEW_VULNERABILITIES

#: A device's findings reach whoever reaches the device (patching's rule for update
#: states: the device's site and asset group against the engagement's scope).
finding_scope = state_scope


view_findings = policy(VIEW_VULNERABILITIES)(
    ScopedPermission(VIEW_VULNERABILITIES, rule=finding_scope)
)
accept_risk = policy(ACCEPT_VULNERABILITY_RISK)(
    ScopedPermission(ACCEPT_VULNERABILITY_RISK, internal_only=True)
)
