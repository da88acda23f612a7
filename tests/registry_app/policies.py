"""Who may read a tenant's probe: whoever holds the permission in that tenant."""

from tandem.core.policies import ScopedPermission, policy
from tests.registry_app.apps import VIEW_PROBE

policy(VIEW_PROBE)(ScopedPermission(VIEW_PROBE, tenant_field="id"))
