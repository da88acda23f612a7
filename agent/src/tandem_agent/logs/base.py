"""What a log source is: a reader from a persisted position (decision 0047).

A source keeps no state of its own: :meth:`LogSource.read` takes the position the queue
holds (``None`` the first time) and returns the records it read and the position after
them. The forwarder writes both in one transaction (:mod:`tandem_agent.logs.queue`), so the
position is durable exactly when the records are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

#: A position is a small JSON object, opaque to everything but its source.
Position = dict[str, Any]


@dataclass
class ReadResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    position: Position | None = None
    #: True when the source stopped at its limit with more to read (read again at once).
    more: bool = False


class LogSource(Protocol):
    #: Unique and stable: the key of the source's position (``file:/var/log/auth.log``).
    name: str

    def read(self, position: Position | None, *, max_records: int) -> ReadResult: ...


class SourceUnavailable(Exception):
    """The source cannot be read on this machine (no journald, not Windows): skipped."""


class SourceError(Exception):
    """Reading failed this time (a program's error, a file the agent may not read): the
    position stays, the source is tried again next round, and the reason is logged once."""
