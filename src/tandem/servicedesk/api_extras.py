"""Service-desk API: extras."""

from ninja import Router

router = Router(tags=["service desk"])
