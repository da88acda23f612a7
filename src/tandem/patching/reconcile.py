"""Keeping each device's update states in step with what its agent reports: a pure core.

Set-based: given the updates a device's package manager offers now, the versions of the
software installed on it, and the states held, :func:`reconcile` says which states to add,
reopen, close as installed and close as superseded. The service applies the answer with a
handful of bulk writes.

- An update offered and not held (this package at this candidate version) is *missing*
  from now.
- A held state that is offered again after it closed is missing again (its install was
  rolled back, or the package came back); its ``installed_at`` is cleared.
- A held missing state no longer offered is *installed* when the software is now at or
  past its version (dpkg ordering), else *superseded* (a newer candidate replaced it, or
  the package is gone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

MISSING, INSTALLED, SUPERSEDED = "missing", "installed", "superseded"


@dataclass(frozen=True)
class Offered:
    """One pending update as the agent reported it."""

    item_id: str
    name: str
    current_version: str
    candidate_version: str
    security: bool = False
    origin: str = ""


@dataclass(frozen=True)
class Held:
    """One update state the server holds for the device."""

    state_id: int
    item_id: str
    version: str
    status: str


@dataclass
class Reconciliation:
    """What to write: new states, and the ids of held states to move."""

    add: list[Offered] = field(default_factory=list)
    reopen: list[int] = field(default_factory=list)
    installed: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.add or self.reopen or self.installed or self.superseded)


def reconcile(
    *,
    offered: Sequence[Offered],
    installed: Mapping[str, str],
    held: Sequence[Held],
    compare: Callable[[str, str], int],
) -> Reconciliation:
    """See the module's rules. ``installed`` maps item ids to installed versions;
    ``compare`` orders versions (-1, 0, 1)."""
    answer = Reconciliation()
    offered_keys = {(o.item_id, o.candidate_version): o for o in offered}
    held_keys = {(h.item_id, h.version): h for h in held}
    for key, update in sorted(offered_keys.items()):
        state = held_keys.get(key)
        if state is None:
            answer.add.append(update)
        elif state.status != MISSING:
            answer.reopen.append(state.state_id)
    for key, state in sorted(held_keys.items()):
        if state.status != MISSING or key in offered_keys:
            continue
        now_at = installed.get(state.item_id)
        if now_at is not None and compare(now_at, state.version) >= 0:
            answer.installed.append(state.state_id)
        else:
            answer.superseded.append(state.state_id)
    return answer
