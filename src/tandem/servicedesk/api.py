"""The desk's API, one router for ``config/api.py``: each aggregate's router (tickets,
queue, desk configuration). The responsibility matrix's endpoints are that app's
(``tandem.responsibility.api``). Thin handlers: find through the policy (404 out of reach),
call one service."""

from ninja import Router

from tandem.servicedesk.config import api as config_api
from tandem.servicedesk.queues import api as queue_api
from tandem.servicedesk.tickets import api as ticket_api

#: What ``config/api.py`` mounts: each aggregate's router, in the order their paths were
#: first published (the routers carry their own tags).
router = Router()
for part in (ticket_api.router, queue_api.router, config_api.router):
    router.add_router("", part)
