"""The inventory document: canonical hash, deltas, and apply(prev, delta(prev, cur)) == cur."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem_agent.inventory import (
    SCHEMA_VERSION,
    DeltaError,
    apply,
    canonical,
    delta,
    normalise,
    state_hash,
)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
ids = st.sampled_from([f"pkg{i}:amd64" for i in range(12)])
items = st.lists(
    st.fixed_dictionaries(
        {"id": ids},
        optional={"version": st.text(max_size=4), "security": st.booleans(), "x": values},
    ),
    max_size=8,
    unique_by=lambda item: item["id"],
)
records = st.dictionaries(
    st.sampled_from(["a", "b", "c", "kernel", "hostname"]), values, max_size=4
)
section_names = st.sampled_from(["software", "updates", "accounts", "os", "device", "security"])
documents = st.dictionaries(section_names, st.one_of(items, records), max_size=6).map(
    lambda sections: normalise({"schema_version": SCHEMA_VERSION, **sections})
)


@settings(max_examples=300, deadline=None)
@given(previous=documents, current=documents)
def test_apply_of_delta_gives_the_current_document(previous, current):
    change = delta(previous, current)
    assert apply(previous, change) == current
    assert state_hash(apply(previous, change)) == state_hash(current)


@settings(max_examples=100, deadline=None)
@given(document=documents)
def test_a_document_against_itself_has_an_empty_delta(document):
    assert delta(document, document)["sections"] == {}


def _doc(**sections):
    return normalise({"schema_version": SCHEMA_VERSION, **sections})


def test_the_hash_ignores_key_order_and_list_order_but_not_values():
    one = _doc(software=[{"id": "b", "v": 1}, {"id": "a", "v": 2}], os={"k": "6.1", "n": "x"})
    two = _doc(os={"n": "x", "k": "6.1"}, software=[{"id": "a", "v": 2}, {"id": "b", "v": 1}])
    assert canonical(one) == canonical(two)
    assert state_hash(one) == state_hash(two)
    assert state_hash(one).startswith("sha256:") and len(state_hash(one)) == 71
    three = _doc(software=[{"id": "b", "v": 1}, {"id": "a", "v": 3}], os={"k": "6.1", "n": "x"})
    assert state_hash(three) != state_hash(one)


def test_a_delta_names_added_removed_and_changed_packages_by_id():
    before = _doc(
        software=[{"id": "bash:amd64", "version": "5.2"}, {"id": "old:amd64", "version": "1"}],
        os={"kernel": "6.1.0-20", "name": "Debian"},
    )
    after = _doc(
        software=[{"id": "bash:amd64", "version": "5.3"}, {"id": "new:amd64", "version": "2"}],
        os={"kernel": "6.1.0-21", "name": "Debian"},
    )
    change = delta(before, after)
    assert change["sections"] == {
        "os": {"set": {"kernel": "6.1.0-21"}, "unset": []},
        "software": {
            "added": [{"id": "new:amd64", "version": "2"}],
            "removed": ["old:amd64"],
            "changed": [{"id": "bash:amd64", "version": "5.3"}],
        },
    }
    assert change["base_hash"] == state_hash(before)
    assert change["state_hash"] == state_hash(after)


def test_a_delta_against_another_base_is_refused():
    before, after, other = _doc(os={"a": 1}), _doc(os={"a": 2}), _doc(os={"a": 3})
    with pytest.raises(DeltaError):
        apply(other, delta(before, after))


def test_schema_versions_must_match_for_a_delta():
    with pytest.raises(DeltaError):
        delta({"schema_version": 1}, {"schema_version": 2})


def test_duplicate_or_missing_ids_are_refused():
    with pytest.raises(ValueError, match="repeats ids"):
        normalise({"software": [{"id": "a"}, {"id": "a"}]})
    with pytest.raises(ValueError, match="string 'id'"):
        normalise({"software": [{"name": "a"}]})
