"""Priority matrix: the ITIL default, a 4x4 tenant matrix, validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.sla.priority import ITIL_3X3, PriorityMatrix

FOUR_BY_FOUR = PriorityMatrix(
    impacts=("extensive", "significant", "moderate", "minor"),
    urgencies=("critical", "high", "medium", "low"),
    priorities=("P1", "P2", "P3", "P4"),
    grid=(
        ("P1", "P1", "P2", "P2"),
        ("P1", "P2", "P2", "P3"),
        ("P2", "P2", "P3", "P4"),
        ("P2", "P3", "P4", "P4"),
    ),
)


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "P1"),
        ("medium", "high", "P2"),
        ("high", "medium", "P2"),
        ("low", "high", "P3"),
        ("medium", "medium", "P3"),
        ("high", "low", "P3"),
        ("low", "medium", "P4"),
        ("medium", "low", "P4"),
        ("low", "low", "P5"),
    ],
)
def test_the_itil_default_matches_the_reference_table(
    impact: str, urgency: str, priority: str
) -> None:
    assert ITIL_3X3.priority_for(impact, urgency) == priority


def test_a_tenant_can_use_a_4x4_matrix() -> None:
    assert FOUR_BY_FOUR.priority_for("extensive", "critical") == "P1"
    assert FOUR_BY_FOUR.priority_for("minor", "low") == "P4"
    assert FOUR_BY_FOUR.priority_for("moderate", "high") == "P2"


def test_from_cells_builds_the_same_matrix_as_the_grid() -> None:
    cells = {
        (impact, urgency): ITIL_3X3.priority_for(impact, urgency)
        for impact in ITIL_3X3.impacts
        for urgency in ITIL_3X3.urgencies
    }
    rebuilt = PriorityMatrix.from_cells(
        impacts=["high", "medium", "low"],
        urgencies=["high", "medium", "low"],
        priorities=["P1", "P2", "P3", "P4", "P5"],
        cells=cells,
    )
    assert rebuilt == ITIL_3X3
    del cells[("low", "low")]
    with pytest.raises(ValueError, match="missing for low/low"):
        PriorityMatrix.from_cells(
            impacts=ITIL_3X3.impacts,
            urgencies=ITIL_3X3.urgencies,
            priorities=ITIL_3X3.priorities,
            cells=cells,
        )
    with pytest.raises(ValueError, match="unknown huge/high"):
        PriorityMatrix.from_cells(
            impacts=ITIL_3X3.impacts,
            urgencies=ITIL_3X3.urgencies,
            priorities=ITIL_3X3.priorities,
            cells={**cells, ("low", "low"): "P5", ("huge", "high"): "P1"},
        )


def test_unknown_labels_are_rejected() -> None:
    with pytest.raises(
        ValueError, match="unknown impact 'huge'; expected one of high, medium, low"
    ):
        ITIL_3X3.priority_for("huge", "high")
    with pytest.raises(ValueError, match="unknown urgency 'now'"):
        ITIL_3X3.priority_for("high", "now")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grid": (("P1", "P2", "P3"), ("P2", "P3", "P4"))}, "one row per urgency"),
        ({"grid": (("P1", "P2"), ("P2", "P3"), ("P3", "P4"))}, "one cell per impact"),
        (
            {"grid": (("P1", "P2", "P3"), ("P2", "P3", "P4"), ("P3", "P4", "P9"))},
            "'P9', not one of",
        ),
        (
            {"grid": (("P2", "P1", "P3"), ("P2", "P3", "P4"), ("P3", "P4", "P5"))},
            "higher impact 'high' gives a lower priority",
        ),
        (
            {"grid": (("P2", "P2", "P3"), ("P1", "P3", "P4"), ("P3", "P4", "P5"))},
            "higher urgency 'high' gives a lower priority",
        ),
        ({"impacts": ("high", "high", "low")}, "impacts repeat high"),
        ({"urgencies": ()}, "urgencies must not be empty"),
        ({"priorities": "P1"}, "priorities must be a list"),
        ({"impacts": ("high", "", "low")}, "non-empty strings"),
    ],
)
def test_invalid_matrices_are_rejected(changes: dict[str, Any], message: str) -> None:
    fields = {
        "impacts": ITIL_3X3.impacts,
        "urgencies": ITIL_3X3.urgencies,
        "priorities": ITIL_3X3.priorities,
        "grid": ITIL_3X3.grid,
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        PriorityMatrix(**fields)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4))
def test_rank_sum_matrices_of_any_shape_are_valid_and_monotonic(
    impacts: int, urgencies: int, spread: int
) -> None:
    # A common construction: priority grows with impact rank + urgency rank.
    count = impacts + urgencies - 1
    priorities = tuple(f"P{n}" for n in range(1, count + 1))
    grid = tuple(
        tuple(priorities[min(u + i, count - 1) // spread * spread] for i in range(impacts))
        for u in range(urgencies)
    )
    matrix = PriorityMatrix(
        impacts=tuple(f"i{n}" for n in range(impacts)),
        urgencies=tuple(f"u{n}" for n in range(urgencies)),
        priorities=priorities,
        grid=grid,
    )
    assert matrix.priority_for("i0", "u0") == "P1"
    for u in range(urgencies):
        ranks = [priorities.index(matrix.priority_for(f"i{i}", f"u{u}")) for i in range(impacts)]
        assert ranks == sorted(ranks)
