"""Patching's subscribers to domain events (decision 0022)."""

from __future__ import annotations

from tandem.agents.events import PendingUpdatesChanged, RebootPendingChanged
from tandem.assets.events import DeviceRetired, DeviceUpdated
from tandem.core.events import Envelope, Event, subscriber
from tandem.core.principal import system_principal
from tandem.core.scoping import within_tenant
from tandem.jobs.events import EVENTS, JobChanged
from tandem.jobs.machine import State
from tandem.patching import install_services, services
from tandem.patching.snapshot_services import mark_compliance_changed
from tandem.responsibility.events import MatrixChanged

JobSucceeded = EVENTS[State.SUCCEEDED]
JobFailed = EVENTS[State.FAILED]


@subscriber(PendingUpdatesChanged.type)
def sync_after_check_in(event: PendingUpdatesChanged, envelope: Envelope) -> None:
    """A device's offered updates changed: bring its update states in step (in the worker,
    off the check-in's hot path). Idempotent: a second run finds nothing to change."""
    services.sync_device_updates(
        actor=system_principal("patching: pending updates changed"),
        device_id=event.device_id,
        now=envelope.occurred_at,
    )


@subscriber(JobSucceeded.type, JobFailed.type)
def feedback_from_install_jobs(event: JobChanged, envelope: Envelope) -> None:
    """A patching install job finished: its outcome on the device's updates
    (``install_services.record_job_feedback``); other jobs are not patching's."""
    if event.kind == "install_updates" and event.origin.startswith(install_services.ORIGIN_PREFIX):
        install_services.record_job_feedback(job_id=event.job_id)


#: A device's fields whose change moves its compliance standing or its place in the
#: breakdowns (its site, its group: the responsible party and internet-facing rule).
PLACEMENT_FIELDS = frozenset({"name", "site_id", "asset_group_id"})


@subscriber(DeviceRetired.type, RebootPendingChanged.type, MatrixChanged.type)
def compliance_changed(event: Event, envelope: Envelope) -> None:
    """A device left the fleet, its reboot fact changed, or the responsibility matrix (who
    is responsible for patching where) changed: the tenant's compliance snapshot is out of
    date, and the worker refreshes it within a minute (decision 0048). Marked at the
    subscriber's time, after the change committed: a refresh that started before cannot
    have seen it."""
    del envelope
    if event.tenant_id is not None:
        with within_tenant(event.tenant_id):
            mark_compliance_changed(tenant_id=event.tenant_id)


@subscriber(DeviceUpdated.type)
def compliance_changed_by_placement(event: DeviceUpdated, envelope: Envelope) -> None:
    """A device was renamed or moved to another site or asset group: as above (a change of
    its protection alone moves no figure)."""
    if PLACEMENT_FIELDS.intersection(event.fields):
        compliance_changed(event, envelope)
