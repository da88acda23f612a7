"""Isolation expectations for jobs (merged into expectations.py): the job list and detail
of the API, a device's jobs, requests, approvals, rejections and cancellations, and the
job pages. The world's jobs are described in ``tandem.jobs.tests.world``.

A job is read by whoever sees its device. Acme's world job awaits the approval of Acme's
own IT (the party accountable for the device): Northwind's admin sees it and holds the
approval permission, but through another party, so its approval is refused (issue 11:
"an approval by a party that does not own the device is refused"). The world's engagements
allow no jobs, so only Acme's IT requests and cancels them.
"""

from __future__ import annotations

from typing import Any

_ALL = frozenset({"job", "job_out_of_scope", "other_job"})
_ACME = _ALL - {"other_job"}

OBJECTS: dict[str, tuple[str, ...]] = {"job": ("job", "job_out_of_scope", "other_job")}
LIST_PATHS: dict[str, str] = {"job": "/jobs"}
VIEWERS: dict[str, frozenset[str]] = {
    "job": frozenset(
        {
            "owner",
            "internal_tech",
            "provider_tech",
            "provider_admin",
            "out_of_scope_tech",
            "second_provider_tech",
            "other_tenant_owner",
        }
    ),
}
FORBIDDEN: dict[str, frozenset[str]] = {
    "anonymous": _ALL,
    "requester": _ALL,
    "suspended_provider_tech": _ALL,
    "owner": frozenset({"other_job"}),
    "internal_tech": frozenset({"other_job"}),
    "provider_tech": frozenset({"job_out_of_scope"}),
    "provider_admin": frozenset({"job_out_of_scope"}),
    "out_of_scope_tech": frozenset({"job", "other_job"}),
    "second_provider_tech": frozenset({"other_job"}),
    "other_tenant_owner": _ACME,
}

_ACME_IT = frozenset({"owner", "internal_tech"})
#: Who sees the world's ``device`` (Acme HQ).
_DEVICE_READERS = frozenset(
    {"owner", "internal_tech", "provider_tech", "provider_admin", "second_provider_tech"}
)

PAGES: dict[str, frozenset[str]] = {
    "job-request": _ACME_IT,
    "job": _DEVICE_READERS,
    "job-approve": _ACME_IT,
    "job-reject": _ACME_IT,
    "job-cancel": _ACME_IT,
    "job-approvals": frozenset({"owner", "internal_tech", "provider_admin", "other_tenant_owner"}),
}
WRITES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/devices/{device_id}/jobs"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {
            "kind": "reboot",
            "parameters": {"delay_minutes": 0},
            "reason": "Requested in the matrix",
        },
    },
    ("POST", "/jobs/{job_id}/approve"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"note": "Approved in the matrix"},
    },
    ("POST", "/jobs/{job_id}/reject"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"reason": "Rejected in the matrix"},
    },
    ("POST", "/jobs/{job_id}/cancel"): {
        "allowed": set(_ACME_IT),
        "body": lambda w, p: {"reason": "Cancelled in the matrix"},
    },
}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/jobs/awaiting-my-approval"): frozenset(
        {"owner", "internal_tech", "provider_admin", "other_tenant_owner"}
    ),
    ("GET", "/devices/{device_id}/jobs"): _DEVICE_READERS,
}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
