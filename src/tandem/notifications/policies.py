"""Who may do what with notifications and webhooks.

- Everyone signed in reads and marks their *own* notifications (``SIGNED_IN``; the
  queries filter by the user, so another person's notification is 404).
- Everyone signed in sets their *own* e-mail preferences (``SIGNED_IN``).
- A tenant's owners manage its webhooks. Provider roles never do, even if a provider role
  were given the permission for its own staff (``internal_only``).
- A tenant's owners review its mail that went wrong (``REVIEW_MAIL``: the desk's mail, so the
  desk declares it; the review pages are here).
"""

from __future__ import annotations

from tandem.core.policies import ScopedPermission, policy
from tandem.servicedesk.policies import REVIEW_MAIL

__all__ = ["MANAGE_WEBHOOK", "REVIEW_MAIL"]

MANAGE_WEBHOOK = "notifications.manage_webhook"

policy(MANAGE_WEBHOOK)(ScopedPermission(MANAGE_WEBHOOK, internal_only=True))
