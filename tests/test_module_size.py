"""No module in ``src/`` grows past 800 lines.

A module that long holds more than one thing; a newcomer looking for one of them reads the
others first. Split it by what it is about (style.md: by aggregate, never by the history of
the work). A pure core that reads best whole may stay longer if a decision record says why:
list it in ``EXPLAINED`` with that record. Migrations are generated and are not counted.
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
LIMIT = 800

#: Module (relative to src/) -> the decision record that explains its length.
EXPLAINED: dict[str, str] = {}


def _modules() -> list[Path]:
    return [path for path in sorted(SRC.rglob("*.py")) if "migrations" not in path.parts]


def test_no_module_is_over_800_lines():
    too_long = []
    for path in _modules():
        relative = str(path.relative_to(SRC))
        lines = len(path.read_text().splitlines())
        if lines > LIMIT and relative not in EXPLAINED:
            too_long.append(f"src/{relative}: {lines} lines")
    assert not too_long, f"modules over {LIMIT} lines (split them by aggregate):\n" + "\n".join(
        too_long
    )


def test_every_explained_module_names_a_decision_that_exists():
    docs = SRC.parent / "docs" / "decisions"
    for relative, decision in EXPLAINED.items():
        assert (SRC / relative).exists(), f"{relative} is explained but gone"
        assert (docs / decision).exists(), f"{relative} names a missing decision {decision}"
