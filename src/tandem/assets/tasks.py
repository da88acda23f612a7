"""Periodic work of the assets app, run by ``tandem worker`` (decision 0009)."""

from __future__ import annotations

from django_tasks import task

from tandem.assets.offline_services import check_offline_devices


@task()
def check_offline_devices_task() -> dict[str, int]:
    """Notice devices that went offline or came back under their offline alert policy
    (decision 0032); every minute. Idempotent: a repeated run records nothing twice."""
    return check_offline_devices()
