"""The dedup decision, as plain functions over times (decision 0037): which detections of
one dedup key join the alert that is collecting them, and which start a new one; and which
of an alert's events are kept as its sample. No Django: unit-tested on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: An alert keeps its first and its latest events, this many each.
SAMPLE_FIRST = 20
SAMPLE_LATEST = 20


@dataclass
class Run:
    """Detections (by index) that make one alert: ``joins_current`` when they update the
    alert that was collecting this key, else they start a new alert."""

    joins_current: bool
    indices: list[int] = field(default_factory=list)
    first: dt.datetime | None = None
    last: dt.datetime | None = None


def runs(
    current_last_seen: dt.datetime | None, times: list[dt.datetime], window: dt.timedelta
) -> list[Run]:
    """Split one key's detections (``times``, any order) into alerts.

    A detection joins the collecting alert when it is no later than ``window`` after that
    alert's last detection (earlier ones, arriving late, join too); a later one starts a new
    alert, which collects the following ones by the same rule. ``current_last_seen`` is the
    last detection of the alert collecting the key now (None: no alert is collecting).
    """
    found: list[Run] = []
    run = Run(joins_current=True) if current_last_seen is not None else None
    last = current_last_seen
    for index in sorted(range(len(times)), key=lambda i: times[i]):
        at = times[index]
        if run is None or last is None or at > last + window:
            if run is not None and run.indices:
                found.append(run)
            run = Run(joins_current=False)
            last = None
        run.indices.append(index)
        run.first = at if run.first is None else min(run.first, at)
        run.last = at if run.last is None else max(run.last, at)
        last = at if last is None else max(last, at)
    if run is not None and run.indices:
        found.append(run)
    return found


def kept(before: int, added: int) -> list[int]:
    """Which of ``added`` new events (0-based among them) an alert that had ``before``
    events keeps in its sample: those among its first :data:`SAMPLE_FIRST` and its latest
    :data:`SAMPLE_LATEST` once they are added."""
    total = before + added
    return [
        i
        for i in range(added)
        if before + i + 1 <= SAMPLE_FIRST or before + i + 1 > total - SAMPLE_LATEST
    ]
