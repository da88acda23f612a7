"""The jobs section of the assets app's device page: the device's recent jobs and, for a
reader who may ask for one, the request form."""

from __future__ import annotations

from tandem.assets.models import Device
from tandem.assets.queries import DeviceSection
from tandem.core.principal import Principal
from tandem.jobs import queries
from tandem.jobs.forms import JobRequestForm
from tandem.jobs.machine import Kind
from tandem.jobs.policies import requesting_access

#: Jobs listed on the device page (the API pages through all of them).
SECTION_JOBS = 20


def jobs_section(principal: Principal, device: Device) -> DeviceSection | None:
    """The device's latest jobs, and the request form for a reader who may ask for one."""
    jobs = queries.device_jobs(principal, device)
    kinds = [k.value for k in Kind if requesting_access(principal, device, k.value)]
    rows = list(jobs[:SECTION_JOBS])
    if not rows and not kinds:
        return None
    return DeviceSection(
        key="jobs",
        title="Jobs",
        template="jobs/_device_section.html",
        context={
            "jobs": rows,
            "job_kinds": kinds,
            "job_form": JobRequestForm(kinds=kinds) if kinds else None,
        },
        order=40,
    )
