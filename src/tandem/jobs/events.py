"""What happens to jobs, as domain events (decision 0022): ``job.<state>`` for every state a
job enters (``job.awaiting_approval`` tells the approver's people, ``job.failed`` the
requester, a webhook any of them).

Recorded by ``jobs.services`` in the transaction of the change. One event type per state,
all with the same values, so a webhook names exactly the changes it wants.
"""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from typing import Any

from tandem.core.events import Event, event_type, record
from tandem.core.principal import Principal
from tandem.jobs.machine import State


@dataclass(frozen=True, kw_only=True)
class JobChanged(Event):
    """A job entered ``state`` (the type's suffix)."""

    job_id: int
    device_id: int
    kind: str
    state: str
    previous_state: str
    origin: str
    approver_party_id: int | None
    note: str
    actor_user_id: int | None
    actor_label: str


def _event_class(state: State) -> type[JobChanged]:
    name = "Job" + "".join(part.title() for part in state.value.split("_"))
    cls = make_dataclass(
        name,
        [],
        bases=(JobChanged,),
        frozen=True,
        kw_only=True,
        namespace={
            "type": f"job.{state.value}",
            "__doc__": f"A job became {state.value}.",
            "__module__": __name__,
        },
    )
    return event_type(cls)


#: One registered event type per state: ``job.requested`` ... ``job.rejected``.
EVENTS: dict[State, type[JobChanged]] = {state: _event_class(state) for state in State}


def job_changed(*, actor: Principal, job: Any, previous: str, note: str = "") -> None:
    """Record ``job.<state>`` for the state ``job`` just entered, in the caller's
    transaction."""
    record(
        EVENTS[State(job.state)](
            tenant_id=job.tenant_id,
            job_id=job.pk,
            device_id=job.device_id,
            kind=job.kind,
            state=job.state,
            previous_state=previous,
            origin=job.origin,
            approver_party_id=job.approver_party_id,
            note=note[:500],
            actor_user_id=actor.user_id,
            actor_label=actor.label[:200],
        )
    )
