"""A patched fleet in bulk (decision 0048): devices with update states of every kind, for
the patch-compliance benchmark (``tandem bench patching``) and the snapshot's tests.

Written past the services on purpose, like the rest of ``tandem.scale``: 10,000 devices
with ~50 states each would take the check-in and sync path tens of minutes. What is
written is what the sync writes (catalogue entries, ``DeviceUpdateState`` rows with their
times) plus the devices' agent facts (last seen, pending reboot), varied so that every
branch of the compliance core is taken: missing young and overdue, installed in and
before the period, superseded, rated and unrated, with and without a release date, stale
devices, devices in reboot debt, several sites and asset groups.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from tandem.assets.models import Device
from tandem.patching.models import DeviceUpdateState, UpdateCatalogueEntry

SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_BATCH = 2000


def build_patching_fleet(
    *,
    tenant_id: int,
    devices: int,
    states_per_device: int = 50,
    packages: int = 400,
    site_ids: Sequence[int | None] = (None,),
    asset_group_ids: Sequence[int | None] = (None,),
    seed: int = 1,
    now: dt.datetime | None = None,
    prefix: str = "fleet",
) -> dict[str, Any]:
    """Write ``devices`` active Linux devices of the tenant, spread over the sites and
    groups given (round robin), each with ``states_per_device`` update states over a
    catalogue of ``packages`` updates. Call it inside a tenant or system context. Returns
    the counts and the device ids."""
    rng = random.Random(seed)
    now = now or timezone.now()
    day = dt.timedelta(days=1)
    with transaction.atomic():
        entries = UpdateCatalogueEntry.objects.bulk_create(
            [
                UpdateCatalogueEntry(
                    tenant_id=tenant_id,
                    os_family="linux",
                    package=f"{prefix}-pkg-{index:04d}",
                    version=f"1.{index}.{rng.randint(0, 9)}-1",
                    classification=rng.choice(("security", "security", "bugfix")),
                    severity=rng.choice(SEVERITIES),
                    released_at=(now - rng.uniform(0, 120) * day if rng.random() < 0.7 else None),
                    advised_by="scale",
                )
                for index in range(packages)
            ],
            batch_size=_BATCH,
        )
        made = []
        for index in range(devices):
            seen = now - rng.choice((0.01, 0.5, 2, 6, 10, 20, 40)) * day
            pending = rng.choice((None, False, False, True))
            made.append(
                Device(
                    tenant_id=tenant_id,
                    site_id=site_ids[index % len(site_ids)],
                    asset_group_id=asset_group_ids[(index // len(site_ids)) % len(asset_group_ids)],
                    name=f"{prefix}-{index:05d}",
                    hostname=f"{prefix}-{index:05d}",
                    os_family="linux",
                    os_name="Debian GNU/Linux 12 (bookworm)",
                    os_version="12",
                    enrolled_at=now - 200 * day,
                    last_seen_at=seen,
                    reboot_pending=pending,
                    reboot_pending_since=(now - rng.uniform(0, 20) * day if pending else None),
                )
            )
        made = Device.objects.bulk_create(made, batch_size=_BATCH)
        states: list[DeviceUpdateState] = []
        count = 0
        for device in made:
            for entry in rng.sample(entries, min(states_per_device, len(entries))):
                missing_since = now - rng.uniform(0, 150) * day
                roll = rng.random()
                status, installed_at, closed_at = "missing", None, None
                if roll < 0.35:
                    status = "installed"
                    installed_at = missing_since + rng.uniform(0, 40) * day
                    installed_at = min(installed_at, now)
                elif roll < 0.45:
                    status = "superseded"
                    closed_at = min(missing_since + rng.uniform(0, 40) * day, now)
                states.append(
                    DeviceUpdateState(
                        tenant_id=tenant_id,
                        device=device,
                        entry=entry,
                        item_id=f"{entry.package}:amd64",
                        status=status,
                        missing_since=missing_since,
                        installed_at=installed_at,
                        closed_at=closed_at,
                    )
                )
            if len(states) >= _BATCH * 5:
                DeviceUpdateState.objects.bulk_create(states, batch_size=_BATCH)
                count += len(states)
                states = []
        DeviceUpdateState.objects.bulk_create(states, batch_size=_BATCH)
        count += len(states)
    return {
        "devices": len(made),
        "entries": len(entries),
        "states": count,
        "device_ids": [d.pk for d in made],
    }


def install_one_update_each(
    *, tenant_id: int, devices: int, now: dt.datetime | None = None
) -> list[int]:
    """Install one missing update (its lowest id) on each of the first ``devices`` devices
    (by id) that miss one, as a sync records it: what changes between two snapshot refreshes
    (``tandem bench patching``). Call it inside a tenant or system context. Returns the
    devices changed."""
    picked = list(
        DeviceUpdateState.objects.filter(tenant_id=tenant_id, status="missing")
        .values("device_id")
        .annotate(first=Min("id"))
        .order_by("device_id")
        .values_list("device_id", "first")[:devices]
    )
    DeviceUpdateState.objects.filter(pk__in=[state for _, state in picked]).update(
        status="installed", installed_at=now or timezone.now()
    )
    return [device for device, _ in picked]
