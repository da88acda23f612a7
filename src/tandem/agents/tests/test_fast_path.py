"""The WSGI fast path for ``POST /agent/v1/check-in`` (decision 0028) answers exactly as
the full Django request does, runs as the device in its scope, and leaves every other
request to Django. (Every agents test that checks in also runs through it: conftest.)"""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, RequestFactory
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.agents import fast_path
from tandem.agents.credentials import DeviceAuthentication
from tandem.agents.models import DeviceCredential
from tandem.agents.tests.fast_path_support import FastPathClient, through_fast_path
from tandem.agents.tests.support import check_in, document, enrol, full, make_token, post, report
from tandem.assets.models import Device
from tandem.core.scoping import scope_value, system_context
from tandem.jobs import services as jobs

pytestmark = pytest.mark.django_db


def _two_devices(world: Any) -> list[tuple[str, str]]:
    _token, secret = make_token(world, max_uses=2)
    enrolled = []
    for n in (1, 2):
        body = enrol(Client(), secret, hardware_id=f"hw-{n}", hostname=f"lab-{n}").json()
        enrolled.append((body["device_id"], body["credential"]))
    return enrolled


def _comparable(answer: Any) -> tuple[int, dict[str, Any]]:
    body = answer.json()
    body.pop("server_time", None)
    for job in body.get("jobs") or []:
        job.pop("id", None)
        job.pop("not_after", None)
    return answer.status_code, body


def test_the_fast_path_answers_every_case_as_the_django_view(world) -> None:  # type: ignore[no-untyped-def]
    """Two devices in the same state get the same requests, one through each path: the
    same status and body (bar the time) for each step of the protocol."""
    (slow_id, slow_cred), (fast_id, fast_cred) = _two_devices(world)
    slow, fast = Client(), FastPathClient()
    doc = document({"bash": "5.2", "curl": "8.5"})
    first, second = full(1, doc), report(2, unchanged=True, state_hash=full(1, doc)["state_hash"])
    replayed = report(2, unchanged=True, state_hash="x")
    mismatched = report(3, unchanged=True, state_hash="nope")
    cases: list[tuple[str, Any]] = [
        ("empty", lambda c, i, k: check_in(c, k, i, [])),
        ("full inventory", lambda c, i, k: check_in(c, k, i, [first])),
        ("unchanged", lambda c, i, k: check_in(c, k, i, [second])),
        ("sent again after a lost answer", lambda c, i, k: check_in(c, k, i, [first, second])),
        (
            "replay under a new id",
            lambda c, i, k: check_in(c, k, i, [replayed]),
        ),
        (
            "hash mismatch: need_full",
            lambda c, i, k: check_in(c, k, i, [mismatched]),
        ),
        ("another device's id", lambda c, i, k: check_in(c, k, "999999", [])),
        ("unknown credential", lambda c, i, k: check_in(c, "tdd_nope_nope", i, [])),
        ("no credential", lambda c, i, k: post(c, "check-in", {"device_id": i})),
        (
            "not gzip",
            lambda c, i, k: post(c, "check-in", None, credential=k, raw=b"not gzip"),
        ),
        (
            "invalid shape",
            lambda c, i, k: check_in(c, k, i, [{"id": "x", "sequence": 0, "kind": "inventory"}]),
        ),
    ]
    # The same report ids for both devices: each device's ids are its own.
    answers = {}
    for name, send in cases:
        answers[name] = _comparable(send(fast, fast_id, fast_cred))
        assert _comparable(send(slow, slow_id, slow_cred)) == answers[name], name
    # And the cases are what they say (so the comparison above compares something).
    assert answers["unchanged"][1]["accepted"] == [second["id"]]
    assert answers["sent again after a lost answer"][1]["accepted"] == [first["id"], second["id"]]
    assert answers["replay under a new id"][0:1] == (422,)
    assert answers["replay under a new id"][1]["code"] == "replayed"
    assert answers["hash mismatch: need_full"][1]["need_full"] is True
    assert answers["another device's id"][1]["code"] == "wrong_device"
    assert answers["unknown credential"][1]["code"] == "unknown"
    assert answers["no credential"][1]["code"] == "unauthenticated"
    assert answers["not gzip"][1]["code"] == "malformed"
    assert answers["invalid shape"][0] == 422
    with system_context("test: revoke both"):
        DeviceCredential.objects.update(revoked_at=Device.objects.first().created_at)  # type: ignore[union-attr]
    assert _comparable(check_in(slow, slow_cred, slow_id, [])) == _comparable(
        check_in(fast, fast_cred, fast_id, [])
    )
    assert check_in(fast, fast_cred, fast_id, []).json()["code"] == "revoked"


def test_jobs_due_are_handed_out_on_the_fast_path(world) -> None:  # type: ignore[no-untyped-def]
    (slow_id, slow_cred), (fast_id, fast_cred) = _two_devices(world)
    owner = resolve_principal(user_of(world, "owner"))
    for device_id in (slow_id, fast_id):
        with system_context("test: the device"):
            device = Device.objects.get(pk=device_id)
        jobs.request_job(
            actor=owner,
            device=device,
            kind="reboot",
            parameters={"delay_minutes": 2},
            reason="Kernel update",
        )
    slow = _comparable(check_in(Client(), slow_cred, slow_id, []))
    fast = _comparable(check_in(FastPathClient(), fast_cred, fast_id, []))
    assert slow == fast
    assert [job["kind"] for job in fast[1]["jobs"]] == ["reboot"]
    # Handed out once: the next check-in has none.
    assert check_in(FastPathClient(), fast_cred, fast_id, []).json()["jobs"] == []


def test_the_fast_path_runs_as_the_device_in_its_scope(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (mine, credential), (theirs, _) = _two_devices(world)
    seen: dict[str, Any] = {}

    def spy(request: Any, auth: DeviceAuthentication, payload: Any = None) -> Any:
        seen["principal"] = auth.principal
        seen["device_dimension"] = scope_value("device")
        seen["visible"] = set(Device.objects.values_list("pk", flat=True))
        seen["theirs"] = Device.objects.filter(pk=theirs).exists()
        return answer(request, auth, payload)

    answer = fast_path.answer_check_in
    monkeypatch.setattr(fast_path, "answer_check_in", spy)
    assert check_in(FastPathClient(), credential, mine, []).status_code == 200
    assert seen["principal"].device_id == int(mine)
    assert seen["device_dimension"] == [int(mine)]
    assert seen["visible"] == {int(mine)} and seen["theirs"] is False


def _environ(path: str, method: str = "POST", **extra: Any) -> dict[str, Any]:
    body = gzip.compress(json.dumps({"device_id": "1"}).encode())
    environ = RequestFactory()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD=method,
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(body)),
        HTTP_CONTENT_ENCODING="gzip",
        **extra,
    )
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def test_the_answer_carries_the_security_headers_and_no_store(world) -> None:  # type: ignore[no-untyped-def]
    response, (status, headers) = through_fast_path(_environ(fast_path.CHECK_IN_PATH))
    names = {name.lower(): value for name, value in headers}
    assert status.startswith("401") and getattr(response, "_handler_class", None)
    assert names["content-type"] == "application/json"
    assert "no-store" in names["cache-control"]
    assert names["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "method", "extra"),
    [
        ("/agent/v1/enrol", "POST", {}),
        ("/agent/v1/check-in", "GET", {}),
        ("/agent/v1/check-in", "POST", {"HTTP_HOST": "evil.example"}),
    ],
)
def test_everything_else_goes_to_django(world, path, method, extra) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    django = WSGIHandler()

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        calls.append(environ["PATH_INFO"])
        return django(environ, start_response)

    app = fast_path.CheckInFastPath(recording)
    response, (status, _headers) = through_fast_path(_environ(path, method, **extra), app)
    assert calls == [path]
    # Django's own answers: a bad enrolment body, 405 for GET, 400 for a host not allowed.
    assert status.split()[0] in {"400", "405", "422"}


def test_an_unexpected_error_is_logged_and_answers_500(world, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def broken(request: Any, auth: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(fast_path, "answer_check_in", broken)
    response, (status, _headers) = through_fast_path(_environ(fast_path.CHECK_IN_PATH))
    assert status.startswith("500")
    assert json.loads(response.content)["code"] == "server_error"
    assert "Internal Server Error: /agent/v1/check-in" in caplog.text
