"""The unchanged check-in in raw SQL (decision 0039) answers and writes exactly what the
full path does, takes only the cases it may, and reaches only its credential's device.

Two devices in the same state get the same requests: one through Django's view (the
full path, ORM), one through the WSGI fast path (whose first try is the raw lane). Their
answers (bar the time) and the rows written for them must be the same. Runs on SQLite and,
with ``DATABASE_URL``, on PostgreSQL (the two lanes are different SQL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.agents import protocol_views
from tandem.agents.documents import state_hash
from tandem.agents.models import AgentReport, AgentState
from tandem.agents.services import request_credential_rotation
from tandem.agents.tests.fast_path_support import FastPathClient
from tandem.agents.tests.support import (
    check_in,
    document,
    enrol,
    full,
    make_token,
    post,
    report,
)
from tandem.assets.models import Device
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db

DOC = document({"bash": "5.2", "curl": "8.5"}, {"curl": ("8.5", "8.6", True)})
HASH = state_hash(DOC)


@pytest.fixture
def full_path_calls(monkeypatch: Any) -> list[str]:
    """Device ids the full check-in service was called for (the raw lane calls none)."""
    calls: list[str] = []
    real = protocol_views.check_in

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["request"].device_id)
        return real(**kwargs)

    monkeypatch.setattr(protocol_views, "check_in", counting)
    return calls


def _pair(world: Any) -> list[tuple[str, str]]:
    """Two devices, each with its full inventory taken (through the full path, which also
    confirms the credential): the state the raw lane starts from."""
    _token, secret = make_token(world, max_uses=2)
    enrolled, first = [], full(1, DOC)
    for n in (1, 2):
        body = enrol(Client(), secret, hardware_id=f"hw-{n}", hostname=f"lab-{n}").json()
        assert check_in(Client(), body["credential"], body["device_id"], [first]).json()["accepted"]
        enrolled.append((body["device_id"], body["credential"]))
    return enrolled


def _answer(response: Any) -> tuple[int, dict[str, Any]]:
    body = response.json()
    body.pop("server_time", None)
    return response.status_code, body


def _rows(device_id: str) -> dict[str, Any]:
    """What the check-ins after the first inventory wrote for a device (the report ids
    taken, with their times), its agent state and ``last_seen_at``."""
    with system_context("test: the rows written"):
        state = AgentState.objects.get(device_id=device_id)
        device = Device.objects.get(pk=device_id)
        return {
            "reports": sorted(
                (str(r.report_id), r.sequence, r.kind, r.received_at, r.tenant_id)
                for r in AgentReport.objects.filter(device_id=device_id, sequence__gt=1)
            ),
            "state": (state.state_hash, state.last_sequence, state.agent_version),
            "last_seen_at": device.last_seen_at,
            "tenant": device.tenant_id,
        }


def test_the_raw_lane_answers_and_writes_as_the_full_path(world, full_path_calls) -> None:  # type: ignore[no-untyped-def]
    (slow_id, slow_cred), (fast_id, fast_cred) = _pair(world)
    slow, fast = Client(), FastPathClient()
    start = timezone.now()
    two = [report(2, unchanged=True, state_hash=HASH), report(3, unchanged=True, state_hash=HASH)]
    steps: list[tuple[float, list[dict[str, Any]], str]] = [
        (61, two, "0.1.0"),  # two unchanged reports, last_seen due
        (70, [report(4, unchanged=True, state_hash=HASH)], "0.1.0"),  # last_seen not due
        (80, [], "0.1.0"),  # a heartbeat
        (130, [], "0.1.0"),  # a heartbeat, last_seen due
        (140, [report(5, unchanged=True, state_hash=HASH)], "0.2.0"),  # agent upgraded
    ]
    for seconds, reports, version in steps:
        with time_machine.travel(start + dt.timedelta(seconds=seconds), tick=False):
            payload = {"device_id": "", "agent_version": version, "reports": reports}
            calls_before = len(full_path_calls)
            got_fast = _answer(_post(fast, fast_cred, {**payload, "device_id": fast_id}))
            assert len(full_path_calls) == calls_before, "the raw lane did not answer"
            got_slow = _answer(_post(slow, slow_cred, {**payload, "device_id": slow_id}))
        assert got_fast == got_slow, (seconds, reports)
        assert got_fast[1]["accepted"] == [r["id"] for r in reports]
        assert got_fast[1]["state_hash"] == HASH
        # Same report ids, sequences and times; same state and last_seen_at.
        rows_fast, rows_slow = _rows(fast_id), _rows(slow_id)
        assert rows_fast["reports"] == rows_slow["reports"]
        assert rows_fast["state"] == rows_slow["state"]
        assert rows_fast["last_seen_at"] == rows_slow["last_seen_at"]
    assert _rows(fast_id)["state"] == (HASH, 5, "0.2.0")
    # Written at 61 and 130 s (a minute apart at least), not at 70, 80 or 140 s.
    assert _rows(fast_id)["last_seen_at"] == start + dt.timedelta(seconds=130)


def _post(client: Client, credential: str, payload: dict[str, Any]) -> Any:
    return post(client, "check-in", payload, credential=credential)


def test_every_other_case_takes_the_full_path_and_answers_the_same(world, full_path_calls) -> None:  # type: ignore[no-untyped-def]
    (slow_id, slow_cred), (fast_id, fast_cred) = _pair(world)
    slow, fast = Client(), FastPathClient()
    # The same report ids for both devices (each device's ids are its own).
    taken = report(2, unchanged=True, state_hash=HASH)
    replay = report(2, unchanged=True, state_hash=HASH)
    backwards = [
        report(9, unchanged=True, state_hash=HASH),
        report(8, unchanged=True, state_hash=HASH),
    ]
    other_hash = report(3, unchanged=True, state_hash="sha256:0")
    a_delta = report(3, delta={"base_hash": "x"})
    cases: list[tuple[str, Any]] = [
        ("unchanged, taken", lambda c, i, k: check_in(c, k, i, [taken])),
        ("sent again after a lost answer", lambda c, i, k: check_in(c, k, i, [taken])),
        ("old sequence under a new id", lambda c, i, k: check_in(c, k, i, [replay])),
        ("out of order within the batch", lambda c, i, k: check_in(c, k, i, backwards)),
        ("another hash: need_full", lambda c, i, k: check_in(c, k, i, [other_hash])),
        ("a delta", lambda c, i, k: check_in(c, k, i, [a_delta])),
        ("the device id as other text", lambda c, i, k: check_in(c, k, f"0{i}", [])),
        ("another device's id", lambda c, i, k: check_in(c, k, "999999", [])),
        ("unknown credential", lambda c, i, k: check_in(c, "tdd_0000_nope", i, [])),
    ]
    for name, send in cases:
        calls_before = len(full_path_calls)
        got_fast = _answer(send(fast, fast_id, fast_cred))
        got_slow = _answer(send(slow, slow_id, slow_cred))
        assert got_fast == got_slow, name
        if name != "unchanged, taken":
            # Refused or not followed by the raw lane: the full path answered (or refused
            # before the service, for an unknown credential).
            assert len(full_path_calls) - calls_before in (0, 2), name
        _same_rows_but_ids(slow_id, fast_id, name)
    assert _answer(check_in(fast, fast_cred, fast_id, []))[1]["accepted"] == []
    # And the cases are what they say.
    statuses = {name: _answer(send(fast, fast_id, fast_cred)) for name, send in cases[2:4]}
    assert {s[1].get("code") for s in statuses.values()} == {"replayed"}


def _same_rows_but_ids(slow_id: str, fast_id: str, name: str) -> None:
    slow, fast = _rows(slow_id), _rows(fast_id)
    assert [r[1:3] for r in slow["reports"]] == [r[1:3] for r in fast["reports"]], name
    assert slow["state"] == fast["state"], name


def test_a_pending_rotation_or_a_job_due_takes_the_full_path(world, full_path_calls) -> None:  # type: ignore[no-untyped-def]
    (_, _), (fast_id, fast_cred) = _pair(world)
    full_path_calls.clear()
    fast = FastPathClient()
    with system_context("test: the device"):
        device = Device.objects.get(pk=fast_id)
    request_credential_rotation(actor=system_principal("test"), device=device)
    answer = check_in(fast, fast_cred, fast_id, [report(2, unchanged=True, state_hash=HASH)])
    assert answer.json()["credential"]["value"].startswith("tdd_")
    assert full_path_calls == [fast_id]
    # The new credential's first use confirms it (the full path again), then the raw lane.
    fresh = answer.json()["credential"]["value"]
    check_in(fast, fresh, fast_id, [report(3, unchanged=True, state_hash=HASH)])
    assert full_path_calls == [fast_id, fast_id]
    assert check_in(fast, fresh, fast_id, [report(4, unchanged=True, state_hash=HASH)]).json()[
        "accepted"
    ]
    assert full_path_calls == [fast_id, fast_id]
    # The old credential is refused, as the full path refuses it.
    assert check_in(fast, fast_cred, fast_id, []).json()["code"] == "revoked"


def test_an_unchanged_check_in_is_one_statement_on_postgresql(world) -> None:  # type: ignore[no-untyped-def]
    (_, _), (fast_id, fast_cred) = _pair(world)
    fast = FastPathClient()
    check_in(fast, fast_cred, fast_id, [report(2, unchanged=True, state_hash=HASH)])
    with CaptureQueriesContext(connection) as queries:
        answer = check_in(fast, fast_cred, fast_id, [report(3, unchanged=True, state_hash=HASH)])
    assert answer.json()["accepted"], answer.content
    # (A prepared statement's text is not kept by psycopg: Django logs it as None.)
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in (q["sql"] or "")]
    # One data-modifying WITH on PostgreSQL; three small statements on SQLite.
    assert len(statements) == (1 if connection.vendor == "postgresql" else 3), statements


def test_the_raw_lane_writes_only_its_credentials_device(world, full_path_calls) -> None:  # type: ignore[no-untyped-def]
    """The device comes from the credential inside the statement: another device's id in
    the body (of the same tenant, in the same state) writes nothing to either device."""
    (other_id, _), (fast_id, fast_cred) = _pair(world)
    before_other, before_mine = _rows(other_id), _rows(fast_id)
    answer = check_in(
        FastPathClient(), fast_cred, other_id, [report(2, unchanged=True, state_hash=HASH)]
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "wrong_device")
    assert _rows(other_id) == before_other
    assert _rows(fast_id) == before_mine
