"""The patching part of the persona world (tests/personas.py): a maintenance window and a
ring of Acme that no policy uses, so the matrix can delete each (and other tenants find
neither). The ring sorts after any ring a test makes (order 100): it is never "the ring
before" one of theirs.

- ``patch_window``: Acme's window "World window".
- ``patch_ring``: Acme's ring "World ring".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tandem.core.scoping import system_context
from tandem.patching.models import MaintenanceWindow, PatchRing


def build_patching_world(world: Any) -> None:
    with system_context("test world: patching windows and rings"):
        world.ids["patch_window"] = MaintenanceWindow.objects.create(
            tenant_id=world["tenant"],
            name="World window",
            rrule="FREQ=WEEKLY;BYDAY=SU",
            first_start=dt.datetime(2030, 1, 6, 2, 0, tzinfo=dt.UTC),
            time_zone="Europe/Berlin",
            duration_minutes=120,
        ).pk
        world.ids["patch_ring"] = PatchRing.objects.create(
            tenant_id=world["tenant"], name="World ring", order=100
        ).pk
