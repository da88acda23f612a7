"""Patching's subscribers to domain events (decision 0022)."""

from __future__ import annotations

from tandem.agents.events import PendingUpdatesChanged
from tandem.core.events import Envelope, subscriber
from tandem.core.principal import system_principal
from tandem.jobs.events import EVENTS, JobChanged
from tandem.jobs.machine import State
from tandem.patching import install_services, services

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
