"""What happens to the responsibility matrix, as domain events (decision 0022).

Recorded by ``responsibility.services`` in the transaction of the change, after the new
matrix version is stored. The desk subscribes to ``coverage.changed`` (who is on duty when
moves open tickets' due dates); anyone may subscribe to ``matrix.changed`` (a webhook, a
patch approval that names the Accountable party).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.core.events import Event, event_type, record
from tandem.core.principal import Principal


@event_type
@dataclass(frozen=True, kw_only=True)
class MatrixChanged(Event):
    """A row of the matrix was added or removed; ``version`` is the new matrix version."""

    type = "matrix.changed"
    version: int
    summary: str
    actor_user_id: int | None
    actor_label: str


@event_type
@dataclass(frozen=True, kw_only=True)
class CoverageChanged(Event):
    """A coverage entry was added, changed or removed (``change``: added, changed,
    removed); ``version`` is the new matrix version."""

    type = "coverage.changed"
    coverage_id: int
    party_id: int
    change: str
    version: int
    actor_user_id: int | None
    actor_label: str


def _actor(actor: Principal) -> dict[str, Any]:
    return {"actor_user_id": actor.user_id, "actor_label": actor.label[:200]}


def matrix_changed(*, actor: Principal, tenant_id: int, version: int, summary: str) -> None:
    """Record ``matrix.changed`` in the caller's transaction."""
    record(MatrixChanged(tenant_id=tenant_id, version=version, summary=summary, **_actor(actor)))


def coverage_changed(
    *, actor: Principal, tenant_id: int, coverage_id: int, party_id: int, change: str, version: int
) -> None:
    """Record ``coverage.changed`` in the caller's transaction."""
    record(
        CoverageChanged(
            tenant_id=tenant_id,
            coverage_id=coverage_id,
            party_id=party_id,
            change=change,
            version=version,
            **_actor(actor),
        )
    )
