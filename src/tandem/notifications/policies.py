"""Who may do what with notifications and webhooks.

- Everyone signed in reads and marks their *own* notifications (``SIGNED_IN``; the
  queries filter by the user, so another person's notification is 404).
- Everyone signed in sets their *own* e-mail preferences (``SIGNED_IN``).
- A tenant's owners manage its webhooks. Provider roles never do, even if a provider role
  were given the permission for its own staff (``internal_only``).
- A tenant's owners review its mail that went wrong (``REVIEW_MAIL``).
"""

from __future__ import annotations

from tandem.core.policies import ScopedPermission, policy

MANAGE_WEBHOOK = "notifications.manage_webhook"

policy(MANAGE_WEBHOOK)(ScopedPermission(MANAGE_WEBHOOK, internal_only=True))

#: Reviewing the tenant's mail that did not become a ticket or a note, and the notifications
#: that could not be sent (and sending one again). Held by those who set up the desk
#: (``servicedesk.change_matrix``: the matrix, calendars, SLAs and mail templates), that is
#: the tenant's owners; never by a provider.
REVIEW_MAIL = "notifications.review_mail"

policy(REVIEW_MAIL)(ScopedPermission("servicedesk.change_matrix", internal_only=True))
