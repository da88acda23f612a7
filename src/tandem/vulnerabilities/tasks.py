"""Periodic work of the vulnerabilities app, run by ``tandem worker`` (decision 0009)."""

from __future__ import annotations

from django_tasks import task

from tandem.core.principal import system_principal
from tandem.vulnerabilities import queries, services


@task()
def match_vulnerabilities_task() -> dict[str, int]:
    """Match the devices whose software changed since their last match; open again the
    findings whose accepted risk expired."""
    actor = system_principal("vulnerabilities: periodic matching")
    summary = services.match_devices(actor=actor, device_ids=queries.devices_to_match())
    expired = services.expire_risk_acceptances(actor=actor)
    return {
        "devices": summary.devices,
        "opened": summary.opened,
        "fixed": summary.fixed,
        "risk_expired": expired,
    }
