"""A job from request to result with the real agent (``tandem_agent``, run as a process)
against a running server: requested on a protected device, refused to a party that does
not own it, approved by the accountable party, handed out at the agent's check-in, run by
the agent in a real shell, and reported back: the job succeeded, with its output."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.agents.tests.support import make_token, run_agent
from tandem.assets.models import Device
from tandem.assets.services import update_device
from tandem.core.scoping import system_context
from tandem.jobs import services
from tandem.jobs.machine import State
from tandem.jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_real_agent_runs_an_approved_script_and_reports_its_output(
    live_server, world, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world, max_uses=1)
    state = tmp_path / "agent"
    enrolled = run_agent(state, "enrol", "--server", live_server.url, "--token", secret)
    assert enrolled.returncode == 0, enrolled.stderr
    device_id = int(json.loads((state / "config.json").read_text())["device_id"])
    owner = resolve_principal(user_of(world, "owner"))
    with system_context("test: the enrolled device"):
        device = Device.objects.get(pk=device_id)
    device = update_device(actor=owner, device=device, protected=True)

    job = services.request_job(
        actor=resolve_principal(user_of(world, "internal_tech")),
        device=device,
        kind="run_script",
        parameters={"script": 'echo "hello from $(hostname)"; echo done >&2', "interpreter": "sh"},
        reason="Say hello",
    )
    assert job.state == State.AWAITING_APPROVAL
    # Not handed out while it waits for approval.
    assert run_agent(state, "once").returncode == 0
    with system_context("test: the job"):
        assert Job.objects.get(pk=job.pk).state == State.AWAITING_APPROVAL
    with pytest.raises(PermissionDenied):
        services.approve_job(actor=resolve_principal(user_of(world, "provider_admin")), job=job)
    services.approve_job(actor=owner, job=job)

    ran = run_agent(state, "once")
    assert ran.returncode == 0, ran.stderr
    with system_context("test: the job"):
        done = Job.objects.get(pk=job.pk)
        history = list(done.transitions.order_by("at", "id").values_list("to_state", flat=True))
    assert done.state == State.SUCCEEDED, done.output
    assert done.exit_code == 0
    assert "hello from" in done.output and "done" in done.output
    assert history == ["requested", "awaiting_approval", "approved", "running", "succeeded"]
    # Nothing left in the agent's queue, and the job is not run again at the next round.
    assert run_agent(state, "once").returncode == 0
    with system_context("test: the job"):
        assert Job.objects.get(pk=job.pk).transitions.count() == len(history)
