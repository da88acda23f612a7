"""Service-desk API: queues."""

from ninja import Router

router = Router(tags=["service desk"])
