"""Approved updates become install plans inside maintenance windows: a pure core.

:func:`plan_installs` is the one step between patching and the jobs app (decision 0031):
it turns each device's approved updates into an :class:`InstallPlan` (the device, the
packages, the window's start and end, the reboot policy) and creates nothing. The code
that makes ``install_updates`` jobs from plans (``not_before``/``not_after`` = the window,
``origin`` = :attr:`InstallPlan.origin`) lives with the jobs app's wiring, not here; the
inputs are gathered from the database by ``patching.queries.install_plan_inputs``.

Rules:
- An update is *installable from* a moment (:func:`installable_from`): approved by policy,
  from its release (or, unknown, the day it was first seen missing) plus the policy's
  ``auto_approve_after_days`` plus the ring's deferral; approved by a person, from the
  approval or the release plus the ring's deferral, whichever is later. Awaiting, rejected
  and excluded updates are never installable.
- A device in a later ring takes an update only once the ring before it has passed the
  promotion gate for that update (:func:`promotion_open`): the caller marks such
  candidates ``held_back``.
- A device with no maintenance window gets no plan: nothing installs outside a window.
- The plan uses the first window (open now, or the next within ``horizon``) by whose start
  at least one update is installable, and takes every update installable by then. A window
  already open starts the plan *now*.
- ``origin`` is ``patching:device:<id>:<window opening, UTC, YYYYmmddTHHMMZ>``: the
  occurrence's opening, not the plan's start (which is *now* in an open window), so the
  same window gives the same origin at every run and turning plans into jobs is idempotent
  on it (``patching.services.schedule_installs``). Compact, because a job's origin takes
  letters, digits and ``_ . : / -`` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tandem.patching.windows import WindowSpec, occurrences

#: How far ahead plans look for a window.
HORIZON = dt.timedelta(days=35)
APPROVED_STATES = frozenset({"auto", "approved"})


@dataclass(frozen=True)
class DevicePlanInput:
    """What planning needs of one device: its effective window and reboot policy."""

    device_id: int
    tenant_id: int
    window: WindowSpec | None
    reboot_mode: str
    reboot_deadline_hours: int


@dataclass(frozen=True)
class Candidate:
    """One update missing on one device, with its approval and when it may install."""

    device_id: int
    entry_id: int
    item_id: str
    package: str
    version: str
    approval: str
    installable_from: dt.datetime | None
    #: The ring before this device's has not passed the promotion gate for this update.
    held_back: bool = False


@dataclass(frozen=True)
class PlannedPackage:
    entry_id: int
    item_id: str
    package: str
    version: str


@dataclass(frozen=True)
class InstallPlan:
    """One device's install job to be: install ``packages`` between ``window_start`` and
    ``window_end`` (UTC), then reboot per ``reboot_mode``, by ``reboot_deadline`` at the
    latest (None: never reboot)."""

    device_id: int
    tenant_id: int
    packages: tuple[PlannedPackage, ...]
    window_start: dt.datetime
    window_end: dt.datetime
    reboot_mode: str
    reboot_deadline: dt.datetime | None
    #: When the window's occurrence opened (``window_start`` is later when it was open
    #: already): the origin's key.
    window_opens: dt.datetime | None = None

    @property
    def origin(self) -> str:
        return window_origin(self.device_id, self.window_opens or self.window_start)


def window_origin(device_id: int, opens: dt.datetime) -> str:
    """The origin of a device's install job in the window occurrence opening at ``opens``."""
    stamp = opens.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")
    return f"patching:device:{device_id}:{stamp}"


def installable_from(
    *,
    approval: str,
    approved_at: dt.datetime | None,
    released_at: dt.datetime | None,
    missing_since: dt.datetime,
    auto_approve_after_days: int,
    ring_deferral_days: int,
) -> dt.datetime | None:
    """When an update may first install on a device (None: not approved)."""
    base = released_at or missing_since
    deferral = dt.timedelta(days=ring_deferral_days)
    if approval == "auto":
        return base + dt.timedelta(days=auto_approve_after_days) + deferral
    if approval == "approved":
        assert approved_at is not None
        return max(approved_at, base + deferral)
    return None


def promotion_open(
    *, successes: int, failures: int, min_successes: int, max_failure_percent: int
) -> bool:
    """Whether a ring's results let the next ring take an update: at least
    ``min_successes`` installs succeeded and failures are at most ``max_failure_percent``
    of the attempts."""
    attempts = successes + failures
    if successes < min_successes:
        return False
    if attempts == 0:
        return True
    return failures * 100 <= max_failure_percent * attempts


def plan_installs(
    *,
    devices: Iterable[DevicePlanInput],
    candidates: Iterable[Candidate],
    now: dt.datetime,
    horizon: dt.timedelta = HORIZON,
) -> list[InstallPlan]:
    """The install plans of ``devices`` (see the module's rules), one per device at most,
    ordered by window start then device id. Pure: creates no job."""
    by_device: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        if (
            candidate.approval in APPROVED_STATES
            and not candidate.held_back
            and candidate.installable_from is not None
        ):
            by_device.setdefault(candidate.device_id, []).append(candidate)
    plans = []
    for device in devices:
        waiting = by_device.get(device.device_id)
        if not waiting or device.window is None:
            continue
        plan = _plan_device(device, waiting, now, horizon)
        if plan is not None:
            plans.append(plan)
    return sorted(plans, key=lambda plan: (plan.window_start, plan.device_id))


def _plan_device(
    device: DevicePlanInput, waiting: Sequence[Candidate], now: dt.datetime, horizon: dt.timedelta
) -> InstallPlan | None:
    assert device.window is not None
    earliest = min(c.installable_from for c in waiting if c.installable_from is not None)
    for opens, closes in occurrences(device.window, now, now + horizon):
        start = max(opens, now)
        if closes <= start or earliest > start:
            continue
        chosen = sorted(
            (c for c in waiting if c.installable_from is not None and c.installable_from <= start),
            key=lambda c: (c.package, c.item_id, c.entry_id),
        )
        deadline = (
            None
            if device.reboot_mode == "never"
            else closes + dt.timedelta(hours=device.reboot_deadline_hours)
        )
        return InstallPlan(
            device_id=device.device_id,
            tenant_id=device.tenant_id,
            packages=tuple(
                PlannedPackage(
                    entry_id=c.entry_id, item_id=c.item_id, package=c.package, version=c.version
                )
                for c in chosen
            ),
            window_start=start,
            window_end=closes,
            reboot_mode=device.reboot_mode,
            reboot_deadline=deadline,
            window_opens=opens,
        )
    return None
