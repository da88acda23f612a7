"""Priority from impact and urgency through a per-tenant matrix (data, not code).

ITIL's usual 3x3 matrix is the default (``ITIL_3X3``); some organizations use 4x4 (impact
Extensive/Significant/Moderate/Minor x urgency Critical/High/Medium/Low -> P1-P4) or other
shapes, so the matrix is plain data the ORM stores per tenant and validates here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["ITIL_3X3", "PriorityMatrix"]


def _labels(values: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"{what} must be a list of labels, not a string")
    labels = tuple(values)
    if not labels:
        raise ValueError(f"{what} must not be empty")
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{what} must be non-empty strings, got {label!r}")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"{what} repeat {', '.join(duplicates)}")
    return labels


@dataclass(frozen=True)
class PriorityMatrix:
    """``grid[u][i]`` is the priority for urgency ``urgencies[u]`` and impact ``impacts[i]``.

    Every list is ordered from most to least severe: ``impacts`` and ``urgencies`` start with
    the highest, ``priorities`` with the most urgent (P1). The grid is laid out like the usual
    printed table (rows = urgency, columns = impact).

    Validation rejects unknown priorities in the grid and, because it is almost always a typo,
    a grid where raising impact or urgency would *lower* the priority. Priorities that no cell
    uses are allowed (a P5 reserved for planned work, say).
    """

    impacts: tuple[str, ...]
    urgencies: tuple[str, ...]
    priorities: tuple[str, ...]
    grid: tuple[tuple[str, ...], ...]
    _cells: Mapping[tuple[str, str], str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        impacts = _labels(self.impacts, "impacts")
        urgencies = _labels(self.urgencies, "urgencies")
        priorities = _labels(self.priorities, "priorities")
        rank = {priority: index for index, priority in enumerate(priorities)}
        if isinstance(self.grid, str) or len(self.grid) != len(urgencies):
            raise ValueError(f"grid needs one row per urgency ({len(urgencies)} rows)")
        grid = tuple(tuple(row) for row in self.grid)
        cells: dict[tuple[str, str], str] = {}
        for urgency, row in zip(urgencies, grid, strict=True):
            if len(row) != len(impacts):
                raise ValueError(
                    f"grid row for urgency {urgency!r} needs one cell per impact "
                    f"({len(impacts)}), got {len(row)}"
                )
            for impact, priority in zip(impacts, row, strict=True):
                if priority not in rank:
                    raise ValueError(
                        f"grid cell ({impact!r}, {urgency!r}) is {priority!r}, "
                        f"not one of {', '.join(priorities)}"
                    )
                cells[(impact, urgency)] = priority
        for u, urgency in enumerate(urgencies):
            for i, impact in enumerate(impacts):
                here = rank[grid[u][i]]
                # Moving towards the more severe neighbour must not give a less urgent priority.
                if i and rank[grid[u][i - 1]] > here:
                    raise ValueError(
                        f"higher impact {impacts[i - 1]!r} gives a lower priority than "
                        f"{impact!r} at urgency {urgency!r}"
                    )
                if u and rank[grid[u - 1][i]] > here:
                    raise ValueError(
                        f"higher urgency {urgencies[u - 1]!r} gives a lower priority than "
                        f"{urgency!r} at impact {impact!r}"
                    )
        set_ = object.__setattr__  # frozen dataclass: normalising its own fields
        set_(self, "impacts", impacts)
        set_(self, "urgencies", urgencies)
        set_(self, "priorities", priorities)
        set_(self, "grid", grid)
        set_(self, "_cells", cells)

    @classmethod
    def from_cells(
        cls,
        *,
        impacts: Sequence[str],
        urgencies: Sequence[str],
        priorities: Sequence[str],
        cells: Mapping[tuple[str, str], str],
    ) -> PriorityMatrix:
        """Build from ``{(impact, urgency): priority}``, the shape of the ORM's rows.

        Every combination must be present; extra or unknown combinations are rejected.
        """
        impact_labels = _labels(impacts, "impacts")
        urgency_labels = _labels(urgencies, "urgencies")
        expected = {(i, u) for i in impact_labels for u in urgency_labels}
        missing = sorted(expected - set(cells))
        if missing:
            raise ValueError(f"cells missing for {', '.join(f'{i}/{u}' for i, u in missing)}")
        extra = sorted(set(cells) - expected)
        if extra:
            raise ValueError(f"cells for unknown {', '.join(f'{i}/{u}' for i, u in extra)}")
        grid = tuple(tuple(cells[(i, u)] for i in impact_labels) for u in urgency_labels)
        return cls(
            impacts=impact_labels,
            urgencies=urgency_labels,
            priorities=tuple(priorities),
            grid=grid,
        )

    def priority_for(self, impact: str, urgency: str) -> str:
        """The priority of ``impact`` x ``urgency``; unknown labels raise ``ValueError``."""
        try:
            return self._cells[(impact, urgency)]
        except KeyError:
            if impact not in self.impacts:
                raise ValueError(
                    f"unknown impact {impact!r}; expected one of {', '.join(self.impacts)}"
                ) from None
            raise ValueError(
                f"unknown urgency {urgency!r}; expected one of {', '.join(self.urgencies)}"
            ) from None


#: The usual ITIL matrix (domain reference §4.4): P1 Critical ... P5 Planning.
ITIL_3X3 = PriorityMatrix(
    impacts=("high", "medium", "low"),
    urgencies=("high", "medium", "low"),
    priorities=("P1", "P2", "P3", "P4", "P5"),
    grid=(
        ("P1", "P2", "P3"),
        ("P2", "P3", "P4"),
        ("P3", "P4", "P5"),
    ),
)
