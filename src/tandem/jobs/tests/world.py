"""The jobs part of the persona world (tests/personas.py): three jobs, so that every job
endpoint and page meets each kind of reach.

- ``job``: on Acme's ``device`` (HQ), awaiting the approval of Acme's own IT (the party
  accountable for it: the world's matrix names no other for its areas). It was requested
  while the device was protected; the device is unprotected again, so the rest of the world
  reads as before. Acme's IT and Northwind (HQ) and Sentinel (all of Acme) see it.
- ``job_out_of_scope``: on Acme's ``device_out_of_scope`` (Branch), approved: Acme's IT,
  Narrow IT and Sentinel see it; Northwind does not.
- ``other_job``: on Globex's ``other_device``, approved: its owner and Northwind.
"""

from __future__ import annotations

from typing import Any

from tandem.assets.models import Device
from tandem.assets.services import update_device
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.jobs.services import request_job


def build_jobs_world(world: Any) -> None:
    actor = system_principal("build the test world: jobs")
    with system_context("test world: jobs"):
        device = Device.objects.get(pk=world["device"])
        branch = Device.objects.get(pk=world["device_out_of_scope"])
        globex = Device.objects.get(pk=world["other_device"])
    device = update_device(actor=actor, device=device, protected=True)
    world.ids["job"] = request_job(
        actor=actor,
        device=device,
        kind="reboot",
        parameters={"delay_minutes": 5},
        reason="Kernel update needs a reboot",
    ).pk
    update_device(actor=actor, device=device, protected=False)
    world.ids["job_out_of_scope"] = request_job(
        actor=actor,
        device=branch,
        kind="install_updates",
        parameters={"packages": "security"},
        reason="Monthly security updates",
    ).pk
    world.ids["other_job"] = request_job(
        actor=actor,
        device=globex,
        kind="run_script",
        parameters={"script": "uptime", "interpreter": "sh"},
        reason="How long has the gateway been up?",
    ).pk
