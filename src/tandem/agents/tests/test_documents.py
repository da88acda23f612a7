"""The server's inventory rules agree with the agent's (decision 0025: the same hash, the
same delta result), and Debian versions order as dpkg orders them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.agents import documents
from tandem.agents.versions import compare_versions
from tandem_agent import inventory as agent_rules

_items = st.dictionaries(
    st.sampled_from(["a:amd64", "b:amd64", "c:all", "ü:arm64"]),
    st.fixed_dictionaries({"version": st.text(max_size=8), "n": st.integers(-5, 5)}),
)


def _doc(software: dict, os_name: str) -> dict:  # type: ignore[type-arg]
    return {
        "schema_version": 1,
        "os": {"name": os_name},
        "software": [{"id": k, **v} for k, v in sorted(software.items())],
    }


@given(_items, _items, st.text(max_size=5), st.text(max_size=5))
def test_the_server_applies_the_agents_deltas_to_the_same_document(a, b, x, y) -> None:  # type: ignore[no-untyped-def]
    before, after = _doc(a, x), _doc(b, y)
    assert documents.state_hash(before) == agent_rules.state_hash(before)
    change = agent_rules.delta(before, after)
    assert documents.apply(before, change) == agent_rules.apply(before, change) == after


def test_a_delta_on_another_base_is_refused() -> None:
    change = agent_rules.delta(_doc({}, "x"), _doc({}, "y"))
    with pytest.raises(documents.DeltaError):
        documents.apply(_doc({}, "z"), change)


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ("1.0", "1.0", 0),
        ("1.0-1", "1.0-2", -1),
        ("1:1.0", "2.0", 1),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0+deb12u1", -1),
        ("3.0.14-1~deb12u2", "3.0.15-1~deb12u1", -1),
        ("2:9.0.1378-2", "2:9.0.1378-1", 1),
        ("1.10", "1.9", 1),
        ("1.0a", "1.0", 1),
    ],
)
def test_debian_version_order(left: str, right: str, order: int) -> None:
    assert compare_versions(left, right) == order
    assert compare_versions(right, left) == -order
