"""Keeping update states in step with what the agent offers and what is installed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tandem.agents.versions import compare_versions
from tandem.patching.reconcile import INSTALLED, MISSING, SUPERSEDED, Held, Offered, reconcile


def test_new_offers_are_missing_installed_ones_close_and_replaced_ones_are_superseded() -> None:
    held = [
        Held(1, "openssl:amd64", "3.0.11-1", MISSING),
        Held(2, "curl:amd64", "7.88.1-10", MISSING),
        Held(3, "bash:amd64", "5.2.15-2", MISSING),
        Held(4, "tzdata:all", "2024a-0", INSTALLED),
    ]
    answer = reconcile(
        offered=[
            Offered("curl:amd64", "curl", "7.88.1-9", "7.88.1-11"),  # a newer candidate
            Offered("vim:amd64", "vim", "9.0", "9.0.1"),
            Offered("tzdata:all", "tzdata", "2023c-5", "2024a-0"),  # rolled back
        ],
        installed={"openssl:amd64": "3.0.11-1", "curl:amd64": "7.88.1-9"},
        held=held,
        compare=compare_versions,
    )
    assert [u.item_id for u in answer.add] == ["curl:amd64", "vim:amd64"]
    assert answer.installed == [1]  # openssl is now at the candidate
    assert sorted(answer.superseded) == [2, 3]  # curl's 7.88.1-10 replaced; bash removed
    assert answer.reopen == [4]


def test_software_past_the_candidate_counts_as_installed() -> None:
    answer = reconcile(
        offered=[],
        installed={"openssl:amd64": "1:3.0.12-1"},
        held=[Held(1, "openssl:amd64", "3.0.11-1", MISSING)],
        compare=compare_versions,
    )
    assert answer.installed == [1] and not answer.superseded


VERSIONS = st.sampled_from(["1.0", "1.0-1", "1.1", "2.0~rc1", "2.0", "1:0.5"])
ITEMS = st.sampled_from(["a:amd64", "b:amd64", "c:all"])


@given(
    offered=st.dictionaries(ITEMS, st.tuples(VERSIONS, VERSIONS)),
    installed=st.dictionaries(ITEMS, VERSIONS),
    held=st.dictionaries(
        st.tuples(ITEMS, VERSIONS), st.sampled_from([MISSING, INSTALLED, SUPERSEDED])
    ),
)
def test_reconciling_what_was_just_reconciled_changes_nothing(offered, installed, held) -> None:  # type: ignore[no-untyped-def]
    offers = [Offered(i, i, cur, cand) for i, (cur, cand) in offered.items()]
    states = {
        key: Held(n, key[0], key[1], status) for n, (key, status) in enumerate(held.items(), 1)
    }
    answer = reconcile(
        offered=offers, installed=installed, held=list(states.values()), compare=compare_versions
    )
    # Apply the answer as the service does.
    status = {h.state_id: h.status for h in states.values()}
    for state_id in answer.reopen:
        status[state_id] = MISSING
    for state_id in answer.installed:
        status[state_id] = INSTALLED
    for state_id in answer.superseded:
        status[state_id] = SUPERSEDED
    after = [Held(h.state_id, h.item_id, h.version, status[h.state_id]) for h in states.values()]
    after += [
        Held(1000 + n, u.item_id, u.candidate_version, MISSING) for n, u in enumerate(answer.add)
    ]
    again = reconcile(offered=offers, installed=installed, held=after, compare=compare_versions)
    assert not again.changed
    # Every offered update is held as missing afterwards.
    missing = {(h.item_id, h.version) for h in after if h.status == MISSING}
    assert {(o.item_id, o.candidate_version) for o in offers} <= missing
