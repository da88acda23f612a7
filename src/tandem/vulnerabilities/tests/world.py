"""The vulnerabilities part of the persona world (tests/personas.py): a finding on each
kind of device, so every finding endpoint and page meets each kind of reach.

- ``finding``: on Acme's ``device`` (HQ): Acme's people, Northwind (HQ) and Sentinel.
- ``finding_out_of_scope``: on Acme's ``device_out_of_scope`` (Branch): not Northwind.
- ``other_finding``: on Globex's ``other_device``: its owner and Northwind.
- ``accepted_finding``: on Acme HQ, its risk accepted (what a reopen needs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tandem.assets.models import Device
from tandem.core.scoping import system_context
from tandem.vulnerabilities.tests.factories import FindingFactory


def build_vulnerabilities_world(world: Any) -> None:
    with system_context("test world: vulnerability findings"):
        for name, device in (
            ("finding", "device"),
            ("finding_out_of_scope", "device_out_of_scope"),
            ("other_finding", "other_device"),
        ):
            world.ids[name] = FindingFactory(device=Device.objects.get(pk=world[device])).pk
        world.ids["accepted_finding"] = FindingFactory(
            device=Device.objects.get(pk=world["device"]),
            package="openssh",
            status="risk_accepted",
            risk_reason="Only reachable from the management network",
            risk_expires_at=timezone.now() + dt.timedelta(days=30),
        ).pk
