"""The server's inventory rules agree with the agent's (decision 0025: the same hash, the
same delta result), documents stored by any version read back as ``json`` read them, and
Debian versions order as dpkg orders them."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.agents import documents
from tandem.agents.normalise import software_changes, software_rows, software_rows_after
from tandem.agents.versions import compare_versions
from tandem.agents.wire import WireError
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


@given(_items, _items, st.text(max_size=5), st.text(max_size=5))
def test_a_deltas_canonical_bytes_are_the_agents(a, b, x, y) -> None:  # type: ignore[no-untyped-def]
    # The bytes the check-in stores for a delta's result (made by orjson when they hash to
    # the state the delta names) are the agent's canonical bytes of the same document.
    before, after = _doc(a, x), _doc(b, y)
    change = agent_rules.delta(before, after)
    result, made = documents.apply_canonical(before, change)
    assert result == after
    assert made == agent_rules.canonical(after)
    assert documents.hash_of(made) == change["state_hash"] == agent_rules.state_hash(after)


@pytest.mark.parametrize("value", [1.5e-05, 1e16, 2**64, -(2**63) - 1, 0.1])
def test_a_delta_whose_result_orjson_writes_otherwise_still_applies(value: Any) -> None:
    # orjson writes these floats differently from ``json`` (or refuses integers beyond 64
    # bits): its bytes miss the named hash and ``json``'s are taken, as the agent's are.
    before = _doc({"a:amd64": {"version": "1", "n": 0}}, "x")
    after = {**before, "hardware": {"memory": value}}
    change = agent_rules.delta(before, after)
    result, made = documents.apply_canonical(before, change)
    assert result == after and made == agent_rules.canonical(after)
    assert documents.apply(before, change) == after


def test_a_delta_on_another_base_is_refused() -> None:
    change = agent_rules.delta(_doc({}, "x"), _doc({}, "y"))
    with pytest.raises(documents.DeltaError):
        documents.apply(_doc({}, "z"), change)


@pytest.mark.parametrize("named", ["sha256:" + "0" * 64, None, 7, ""])
def test_a_delta_that_leads_elsewhere_is_refused(named: Any) -> None:
    before, after = _doc({}, "x"), _doc({}, "y")
    change = {**agent_rules.delta(before, after), "state_hash": named}
    with pytest.raises(documents.DeltaError):
        documents.apply_canonical(before, change)
    with pytest.raises(documents.DeltaError):
        documents.apply(before, change)


# --- Stored documents: packed by this version, read by any (and the other way round) -----

#: JSON values as ``json`` reads and writes them, with what orjson reads otherwise: integers
#: beyond 64 bits, floats, text beyond ASCII; keys in any order.
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _exactly(value: Any) -> bytes:
    """``value`` as ``json`` writes it: equal only when every type is the same too (an
    integer and the float of the same value are equal in Python, not here)."""
    return json.dumps(value, sort_keys=True).encode()


@given(_json)
def test_a_stored_document_reads_back_as_json_reads_it(value: Any) -> None:
    made = documents.canonical({"schema_version": 1, "value": value})
    expected = json.loads(made)
    # Packed by this version, by the version before (zlib), and read by both.
    assert _exactly(documents.unpack(documents.pack({}, made))) == _exactly(expected)
    assert _exactly(documents.unpack(zlib.compress(made, 1))) == _exactly(expected)
    assert zlib.decompress(documents.pack({}, made)) == made


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        # Beyond 64 bits orjson reads a float: these are read by ``json``, as integers.
        (b'{"a":18446744073709551616}', {"a": 2**64}),
        (b'{"a":-9223372036854775809}', {"a": -(2**63) - 1}),
        (b'{"a":[1,123456789012345678901234567890]}', {"a": [1, 123456789012345678901234567890]}),
        # Nineteen digits inside a string: read by ``json``, the same value.
        (b'{"serial":"1234567890123456789"}', {"serial": "1234567890123456789"}),
        # Within 64 bits: orjson's integers are ``json``'s.
        (b'{"a":18446744073709551615,"b":-9223372036854775808}', {"a": 2**64 - 1, "b": -(2**63)}),
        # What orjson refuses and ``json`` reads: a lone surrogate, NaN and infinities (the
        # first packing migration wrote with ``allow_nan`` left on), 1e400.
        (b'{"a":"\\ud800x"}', {"a": "\ud800x"}),
        (b'{"a":NaN,"b":Infinity,"c":-Infinity}', None),
        (b'{"a":1e400}', {"a": float("inf")}),
    ],
)
def test_documents_orjson_reads_otherwise_are_read_by_json(stored: bytes, expected: Any) -> None:
    read = documents.unpack(zlib.compress(stored, 1))
    assert _exactly(read) == _exactly(json.loads(stored))
    if expected is not None:
        assert _exactly(read) == _exactly(expected)


# --- A delta's software rows, made from the previous document's --------------------------

_packages = st.dictionaries(
    st.sampled_from(["a:amd64", "b:amd64", "c:all", "d:arm64", "ü:arm64"]),
    st.fixed_dictionaries(
        {"name": st.sampled_from(["a", "b", ""]), "version": st.text(max_size=4)},
        optional={"source": st.sampled_from(["s", None]), "arch": st.just("amd64")},
    ),
)


def _with_software(packages: dict[str, Any], os_name: str = "x") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "os": {"name": os_name},
        "software": [{"id": k, **v} for k, v in sorted(packages.items())],
    }


@given(_packages, _packages, st.sampled_from(["x", "y"]))
def test_a_deltas_software_rows_are_those_of_its_result(a, b, os_name) -> None:  # type: ignore[no-untyped-def]
    before, after = _with_software(a), _with_software(b, os_name)
    change = agent_rules.delta(before, after)
    result = documents.apply(before, change)
    derived = software_rows_after(software_rows(before), change, result)
    assert derived == software_rows(result)
    # The rows a delta leaves alone are the same tuples: the diff compares only the others.
    assert software_changes(software_rows(before), derived) == software_changes(
        software_rows(before), software_rows(result)
    )


@pytest.mark.parametrize(
    "section",
    [
        # An id removed and added again, an id added twice (the last wins), a removed id
        # never held.
        {"removed": ["a:amd64", "zz"], "added": [{"id": "a:amd64", "name": "a2", "version": "2"}]},
        {
            "added": [
                {"id": "n:amd64", "name": "n", "version": "1"},
                {"id": "n:amd64", "name": "n", "version": "2"},
            ]
        },
        {"replace": [{"id": "r:amd64", "name": "r", "version": "1"}]},
        {"remove": True},
    ],
)
def test_software_rows_after_every_kind_of_software_section(section: dict[str, Any]) -> None:
    before = _with_software(
        {"a:amd64": {"name": "a", "version": "1"}, "b:amd64": {"name": "b", "version": "1"}}
    )
    change = {"base_hash": documents.state_hash(before), "sections": {"software": section}}
    result, _ = _applied(before, change)
    assert software_rows_after(software_rows(before), change, result) == software_rows(result)


def test_a_malformed_package_in_a_delta_is_refused_as_in_the_whole_document() -> None:
    before = _with_software({"a:amd64": {"name": "a", "version": "1"}})
    section = {
        "added": [
            {"id": "z:amd64", "name": ["not text"], "version": "1"},
            {"id": "m:amd64", "name": "m", "version": 1.5},
        ]
    }
    change = {"base_hash": documents.state_hash(before), "sections": {"software": section}}
    result, _ = _applied(before, change)
    with pytest.raises(WireError) as whole:
        software_rows(result)
    with pytest.raises(WireError) as derived:
        software_rows_after(software_rows(before), change, result)
    assert (derived.value.status, derived.value.detail) == (whole.value.status, whole.value.detail)


def _applied(before: dict[str, Any], change: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """``change`` applied to ``before``, once it names the state it leads to (the agent's)."""
    change["state_hash"] = agent_rules.state_hash(agent_rules.apply(before, change, check=False))
    return documents.apply_canonical(before, change)


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
        # Digits are ASCII digits, as dpkg's: "²" is a character like any other.
        ("1²", "1", 1),
        ("1.²", "1.0", 1),
    ],
)
def test_debian_version_order(left: str, right: str, order: int) -> None:
    assert compare_versions(left, right) == order
    assert compare_versions(right, left) == -order
