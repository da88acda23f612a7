"""The pure state machine and the parameter rules: no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.jobs import machine
from tandem.jobs.machine import State
from tandem.jobs.parameters import MAX_SCRIPT_BYTES, ParameterError, clean

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)  # a pure function's input, not "today"


@given(st.lists(st.sampled_from(list(State)), max_size=12))
def test_a_walk_of_allowed_moves_never_leaves_a_terminal_state(targets) -> None:  # type: ignore[no-untyped-def]
    state = State.REQUESTED
    for target in targets:
        if machine.can_move(state, target):
            assert state not in machine.TERMINAL
            state = target
        else:
            with pytest.raises(machine.TransitionError):
                machine.check_move(state, target)


def test_the_issue_s_path_is_allowed_and_shortcuts_are_not() -> None:
    path = [
        State.REQUESTED,
        State.AWAITING_APPROVAL,
        State.APPROVED,
        State.RUNNING,
        State.SUCCEEDED,
    ]
    for source, target in zip(path, path[1:], strict=False):
        machine.check_move(source, target)
    for source, target in [
        (State.AWAITING_APPROVAL, State.RUNNING),  # never run unapproved
        (State.RUNNING, State.CANCELLED),  # the agent is not told to stop
        (State.SUCCEEDED, State.FAILED),
        (State.REQUESTED, State.RUNNING),
    ]:
        assert not machine.can_move(source, target)


def test_where_a_request_and_an_approval_lead() -> None:
    later = NOW + dt.timedelta(hours=2)
    assert machine.after_request(needs_approval=True, not_before=NOW, now=NOW) == (
        State.AWAITING_APPROVAL
    )
    assert machine.after_request(needs_approval=False, not_before=NOW, now=NOW) == State.APPROVED
    assert machine.after_request(needs_approval=False, not_before=later, now=NOW) == (
        State.SCHEDULED
    )
    assert machine.after_approval(not_before=later, now=NOW) == State.SCHEDULED


@given(st.integers(min_value=-600, max_value=600), st.sampled_from(list(State)))
def test_due_only_when_approved_and_inside_the_window(minutes: int, state: State) -> None:
    not_before, not_after = NOW, NOW + dt.timedelta(minutes=60)
    at = NOW + dt.timedelta(minutes=minutes)
    due = machine.is_due(state=state, not_before=not_before, not_after=not_after, now=at)
    assert due == (state in machine.DISPATCHABLE and 0 <= minutes < 60)
    closed = machine.window_closed(state=state, not_after=not_after, now=at)
    assert closed == (state in machine.WAITING and minutes >= 60)


def test_overdue_and_result_states() -> None:
    limit = dt.timedelta(hours=1)
    assert machine.overdue(state=State.RUNNING, dispatched_at=NOW, now=NOW + limit, limit=limit)
    assert not machine.overdue(state=State.RUNNING, dispatched_at=NOW, now=NOW, limit=limit)
    assert machine.result_state("refused") == State.FAILED
    assert machine.result_state("maybe") is None


def test_parameters_are_checked_per_kind_with_defaults() -> None:
    assert clean("run_script", {"script": "uptime"}) == {
        "script": "uptime",
        "interpreter": "sh",
        "timeout_seconds": 600,
    }
    assert clean("install_updates", {"packages": ["b-pkg", "a-pkg", "a-pkg"]}) == {
        "packages": ["a-pkg", "b-pkg"]
    }
    assert clean("install_updates", {"packages": "security"}) == {"packages": "security"}
    assert clean("reboot", None) == {"delay_minutes": 1}


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("run_script", {}, "script"),
        ("run_script", {"script": "x" * (MAX_SCRIPT_BYTES + 1)}, "script"),
        ("run_script", {"script": "id", "interpreter": "python"}, "interpreter"),
        ("run_script", {"script": "id", "timeout_seconds": 0}, "timeout_seconds"),
        ("install_updates", {"packages": ["Not A Package; rm -rf /"]}, "packages"),
        ("install_updates", {"packages": "everything"}, "packages"),
        ("reboot", {"delay_minutes": True}, "delay_minutes"),
        ("reboot", {"when": "now"}, "when"),
        ("format_disk", {}, "kind"),
    ],
)
def test_bad_parameters_name_their_field(kind: str, params: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ParameterError) as error:
        clean(kind, params)
    assert error.value.field == field
