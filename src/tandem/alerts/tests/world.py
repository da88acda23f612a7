"""The alerts part of the persona world (tests/personas.py; decision 0037).

- ``alert``: Acme, on the device ``acme-hq-db01`` (HQ): Acme's IT and Sentinel (engaged
  for Acme's security monitoring) see it; Northwind (server patching and backup) and Narrow
  IT (network) do not, although Northwind sees the device.
- ``alert_unplaced``: Acme, on a host that is no device: Acme's IT and Sentinel.
- ``other_alert``: Globex: its owner only (Northwind's Globex engagement is the desk).
- ``suppression``: Acme's, active.

The alerts' events have no subscribers while the world is built: the shared world gets no
alert tickets (the desk's tests meet the tickets they expect) and no queued work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

from django.utils import timezone

from tandem.alerts import services
from tandem.alerts.detections import Detection
from tandem.core import events
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import Tenant


def _detection(host: str, rule: str, title: str) -> Detection:
    now = timezone.now()
    return Detection(
        rule_id=rule,
        rule_title=title,
        level="high",
        tags=["attack.execution", "attack.t1059.001"],
        host=host,
        time=now,
        event={"process": {"command_line": "<script>alert('x')</script>"}, "_host": host},
        key_fields={},
    )


def _nobody_for_alerts(real: Any) -> Any:
    def subscribers(event_type: str) -> Any:
        return () if event_type.startswith("alert.") else real(event_type)

    return subscribers


def build_alerts_world(world: Any) -> None:
    # The alerts' events are recorded as nobody's (dispatched at once, no task): the shared
    # world gets no alert tickets and no queued work.
    with mock.patch.object(events, "subscribers_of", _nobody_for_alerts(events.subscribers_of)):
        specs = (
            ("alert", "tenant", "acme-hq-db01", "Acme world rule: encoded PowerShell"),
            ("alert_unplaced", "tenant", "acme-unknown-host", "Acme world rule: odd host"),
            ("other_alert", "other_tenant", "globex-plc-gateway", "Globex world rule: PLC"),
        )
        for name, tenant, host, title in specs:
            result = services.record_detections(
                tenant_id=world[tenant],
                detections=[_detection(host, f"world-{name}", title)],
            )
            world.ids[name] = result.raised[0]
    with system_context("test world: alert suppression"):
        acme = Tenant.objects.get(pk=world["tenant"])
    world.ids["suppression"] = services.create_suppression(
        actor=system_principal("build the test world: alerts"),
        tenant=acme,
        rule_id="world-suppressed-rule",
        reason="Acme world suppression",
        expires_at=timezone.now() + dt.timedelta(days=30),
    ).pk
