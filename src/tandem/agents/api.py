"""The agents' HTTP API."""

from ninja import Router

router = Router(tags=["agents"])
