"""The jobs API and pages as people use them: request a job, see it on the device page and
its own page, approve it from the approvals page; a refusal says why."""

from __future__ import annotations

import json

import pytest
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets.models import Device
from tandem.assets.services import update_device
from tandem.core.scoping import system_context
from tandem.jobs.models import Job

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _send(client, method: str, url: str, body=None):  # type: ignore[no-untyped-def]
    data = json.dumps(body) if body is not None else None
    return client.generic(method, API + url, data=data, content_type="application/json")


def _protect(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: the device"):
        device = Device.objects.get(pk=world["device"])
    update_device(actor=resolve_principal(user_of(world, "owner")), device=device, protected=True)


def test_a_job_requested_through_the_api_waits_for_approval_and_is_approved(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    _protect(world)
    client = as_persona("internal_tech")
    created = _send(
        client,
        "POST",
        f"/devices/{world['device']}/jobs",
        {
            "kind": "run_script",
            "parameters": {"script": "df -h", "interpreter": "sh"},
            "reason": "Disk almost full?",
        },
    )
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["state"] == "awaiting_approval"
    assert job["parameters"] == {"script": "df -h", "interpreter": "sh", "timeout_seconds": 600}
    assert [h["to_state"] for h in job["history"]] == ["requested", "awaiting_approval"]

    waiting = _send(as_persona("owner"), "GET", "/jobs/awaiting-my-approval").json()
    assert job["id"] in [item["id"] for item in waiting["items"]]

    # Northwind sees the device, holds the approval permission, and is not accountable.
    refused = _send(as_persona("provider_admin"), "POST", f"/jobs/{job['id']}/approve", {})
    assert refused.status_code == 403
    assert "accountable for this device" in refused.json()["detail"]

    approved = _send(as_persona("owner"), "POST", f"/jobs/{job['id']}/approve", {"note": "ok"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved"
    listed = _send(client, "GET", f"/devices/{world['device']}/jobs").json()
    assert job["id"] in [item["id"] for item in listed["items"]]


def test_bad_job_input_is_a_422_naming_the_field(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    answer = _send(
        as_persona("owner"),
        "POST",
        f"/devices/{world['device']}/jobs",
        {"kind": "install_updates", "parameters": {"packages": ["rm -rf /"]}, "reason": "x"},
    )
    assert answer.status_code == 422
    assert "packages" in answer.content.decode()


def test_the_device_page_lists_jobs_and_the_job_page_shows_output_and_history(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    page = client.get(f"/devices/{world['device']}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="section-jobs"' in text and "Request a job" in text

    form = client.get(f"/devices/{world['device']}/jobs/new/")
    assert form.status_code == 200
    posted = client.post(
        f"/devices/{world['device']}/jobs/new/",
        {
            "kind": "run_script",
            "reason": "Check the clock",
            "script": "date",
            "interpreter": "sh",
            "timeout_seconds": 60,
            "start_in_minutes": 0,
            "window_hours": 4,
        },
    )
    assert posted.status_code == 302, posted.content.decode()[:2000]
    with system_context("test: the new job"):
        job = Job.objects.filter(device_id=world["device"]).order_by("-id").first()
    assert job is not None and job.reason == "Check the clock"
    detail = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Check the clock" in detail and "History" in detail and "approved" in detail

    # The world's job awaits Acme's own IT: the approvals page lists it; approving works.
    approvals = client.get("/jobs/approvals/").content.decode()
    assert f"/jobs/{world['job']}/" in approvals
    assert client.post(f"/jobs/{world['job']}/approve/", {"note": ""}).status_code == 302
    assert f"/jobs/{world['job']}/" not in client.get("/jobs/approvals/").content.decode()


def test_a_refused_approval_on_the_page_says_why_and_changes_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_admin")
    answer = client.post(f"/jobs/{world['job']}/approve/", {"note": ""})
    assert answer.status_code == 403
    assert "accountable for this device" in answer.content.decode()
    with system_context("test: the job"):
        assert Job.objects.get(pk=world["job"]).state == "awaiting_approval"
    # A provider technician without jobs in its engagement has no request page.
    assert (
        as_persona("provider_tech").get(f"/devices/{world['device']}/jobs/new/").status_code == 404
    )
