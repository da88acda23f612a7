"""Who may do what with notifications and webhooks.

- Everyone signed in reads and marks their *own* notifications (``SIGNED_IN``; the
  queries filter by the user, so another person's notification is 404).
- A tenant's owners manage its webhooks. Provider roles never do, even if a provider role
  were given the permission for its own staff (``internal_only``).
"""

from __future__ import annotations

from tandem.core.policies import ScopedPermission, policy

MANAGE_WEBHOOK = "notifications.manage_webhook"

policy(MANAGE_WEBHOOK)(ScopedPermission(MANAGE_WEBHOOK, internal_only=True))
