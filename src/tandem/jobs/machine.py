"""The job's state machine: states, the transitions allowed between them, and the guards
that pick the next state. Plain data in, plain data out; no Django (decision 0029).

::

    requested ─┬─> awaiting_approval ─┬─> approved ──┬─> running ─┬─> succeeded
               │                      ├─> scheduled ─┘            └─> failed
               ├─> approved           └─> rejected
               └─> scheduled
    approved / scheduled / awaiting_approval ──> expired (the window closed unstarted)
    requested / awaiting_approval / approved / scheduled ──> cancelled

``approved`` means "may run at the device's next check-in", ``scheduled`` "approved, and
waiting for its window to open". ``rejected`` is a terminal state of its own (the issue's
list names no refusal, and "cancelled" would hide who said no). A running job is never
cancelled: the agent cannot be told to stop, so the job ends with the agent's result or,
without one, as failed "no result" (:func:`overdue`).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class State(StrEnum):
    REQUESTED = "requested"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class Kind(StrEnum):
    RUN_SCRIPT = "run_script"
    INSTALL_UPDATES = "install_updates"
    REBOOT = "reboot"


#: Every transition allowed: from -> the states it may go to.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.REQUESTED: frozenset(
        {State.AWAITING_APPROVAL, State.APPROVED, State.SCHEDULED, State.CANCELLED}
    ),
    State.AWAITING_APPROVAL: frozenset(
        {State.APPROVED, State.SCHEDULED, State.REJECTED, State.CANCELLED, State.EXPIRED}
    ),
    State.APPROVED: frozenset({State.RUNNING, State.CANCELLED, State.EXPIRED}),
    State.SCHEDULED: frozenset({State.RUNNING, State.CANCELLED, State.EXPIRED}),
    State.RUNNING: frozenset({State.SUCCEEDED, State.FAILED}),
    State.SUCCEEDED: frozenset(),
    State.FAILED: frozenset(),
    State.EXPIRED: frozenset(),
    State.CANCELLED: frozenset(),
    State.REJECTED: frozenset(),
}
TERMINAL = frozenset(state for state, targets in TRANSITIONS.items() if not targets)
#: The states in which the agent may be handed the job (once its window is open).
DISPATCHABLE = frozenset({State.APPROVED, State.SCHEDULED})
#: The states a job waits in before it runs (the window may close on them).
WAITING = frozenset({State.AWAITING_APPROVAL, State.APPROVED, State.SCHEDULED})
CANCELLABLE = frozenset({State.REQUESTED, *WAITING})


class TransitionError(ValueError):
    """A transition the machine does not allow (a bug or a race: the caller says which)."""


def can_move(source: State, target: State) -> bool:
    return target in TRANSITIONS[source]


def check_move(source: State, target: State) -> None:
    """Raise :class:`TransitionError` unless ``source -> target`` is allowed."""
    if not can_move(source, target):
        raise TransitionError(f"a job cannot go from {source} to {target}")


def after_approval(*, not_before: dt.datetime, now: dt.datetime) -> State:
    """An approved job runs at the next check-in, or waits for its window when it lies ahead."""
    return State.SCHEDULED if not_before > now else State.APPROVED


def after_request(*, needs_approval: bool, not_before: dt.datetime, now: dt.datetime) -> State:
    """Where a new job goes from ``requested``: to its approver, or straight to approved."""
    if needs_approval:
        return State.AWAITING_APPROVAL
    return after_approval(not_before=not_before, now=now)


def is_due(
    *, state: State, not_before: dt.datetime, not_after: dt.datetime, now: dt.datetime
) -> bool:
    """Whether the agent checking in now may be handed the job: approved, window open."""
    return state in DISPATCHABLE and not_before <= now < not_after


def window_closed(*, state: State, not_after: dt.datetime, now: dt.datetime) -> bool:
    """A job that waited past its window: it expires, unstarted."""
    return state in WAITING and now >= not_after


def overdue(
    *, state: State, dispatched_at: dt.datetime | None, now: dt.datetime, limit: dt.timedelta
) -> bool:
    """A running job with no result after ``limit``: it fails with "no result"."""
    return state == State.RUNNING and dispatched_at is not None and now - dispatched_at >= limit


#: What the agent's ``job_result`` status turns into (decision 0025: succeeded, failed,
#: refused). A refusal (an unknown kind, "not supported on this OS") is a failure to run.
RESULT_STATES: dict[str, State] = {
    "succeeded": State.SUCCEEDED,
    "failed": State.FAILED,
    "refused": State.FAILED,
}


def result_state(status: str) -> State | None:
    """The state a reported status ends the job in; None for a status the protocol lacks."""
    return RESULT_STATES.get(status)
