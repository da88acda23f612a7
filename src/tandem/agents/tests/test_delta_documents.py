"""A delta check-in stores the agent's canonical bytes (made once, when the result's hash is
checked: decision 0049, fourth round), readable by the code before it, and follows a
document the code before it stored, whatever orjson would read otherwise in it."""

from __future__ import annotations

import json
import zlib

import pytest

from tandem.agents.documents import canonical, state_hash
from tandem.agents.models import AgentState, InstalledSoftware, SoftwareChange
from tandem.agents.tests.support import check_in, document, enrol, full, make_token, report
from tandem.assets.models import Device
from tandem.core.scoping import system_context
from tandem_agent import inventory as agent_rules

pytestmark = pytest.mark.django_db


def _enrolled(client, world) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    body = enrol(client, secret).json()
    return body["device_id"], body["credential"]


def _stored(device_id: str) -> bytes:
    """The device's stored document, inflated as the code before this one did (zlib)."""
    with system_context("test: the stored document"):
        packed = AgentState.objects.values_list("document_gz", flat=True).get(device_id=device_id)
    return zlib.decompress(bytes(packed))


def _software(device_id: str) -> dict[str, str]:
    with system_context("test: the rows"):
        return dict(
            InstalledSoftware.objects.filter(device_id=device_id).values_list(
                "title__item_id", "title__version"
            )
        )


def _changes(device_id: str) -> set[tuple[str, str, str, str]]:
    with system_context("test: the history"):
        return set(
            SoftwareChange.objects.filter(device_id=device_id).values_list(
                "item_id", "kind", "from_version", "to_version"
            )
        )


_sorted = agent_rules.normalise


def test_a_delta_stores_the_agents_canonical_bytes(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    # Canonical as the agent makes them: lists sorted by id ("p10:amd64" before "p1:amd64").
    first = _sorted(document({f"p{n}": "1.0" for n in range(60)}, {"p1": ("1.0", "1.1", True)}))
    check_in(client, credential, device_id, [full(1, first)])
    second = _sorted(document({**{f"p{n}": "1.0" for n in range(1, 60)}, "p1": "1.1", "new": "1"}))
    step = report(2, state_hash=state_hash(second), delta=agent_rules.delta(first, second))
    body = check_in(client, credential, device_id, [step]).json()
    assert body["accepted"] == [step["id"]] and body["need_full"] is False
    assert body["state_hash"] == agent_rules.state_hash(second)
    assert _stored(device_id) == agent_rules.canonical(second)
    assert _software(device_id) == {item["id"]: item["version"] for item in second["software"]}
    assert _changes(device_id) == {
        ("p0:amd64", "removed", "1.0", ""),
        ("p1:amd64", "upgraded", "1.0", "1.1"),
        ("new:amd64", "installed", "", "1"),
    }
    # And the next delta starts from what was stored.
    third = _sorted(document({**{f"p{n}": "1.0" for n in range(1, 60)}, "p1": "1.2", "new": "1"}))
    step = report(3, state_hash=state_hash(third), delta=agent_rules.delta(second, third))
    assert check_in(client, credential, device_id, [step]).json()["need_full"] is False
    assert _stored(device_id) == agent_rules.canonical(third)


@pytest.mark.parametrize(
    "hardware",
    [
        # orjson reads an integer beyond 64 bits as a float: such a document (the wire's
        # json once read them) is read by json, as are 19 digits in a string.
        {"memory_bytes": 2**65, "serial": "12345678901234567890123"},
        {"memory_bytes": 2**40, "note": "ünïcödé ✓"},
    ],
)
def test_a_document_stored_by_the_code_before_is_followed(client, world, hardware) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    first = document({"a": "1", "b": "1"})
    check_in(client, credential, device_id, [full(1, first)])
    # The document as the code before this one stored it: json's canonical bytes, zlib.
    held = {**first, "hardware": hardware}
    with system_context("test: stored by the code before"):
        AgentState.objects.filter(device_id=device_id).update(
            document_gz=zlib.compress(canonical(held), 1), state_hash=state_hash(held)
        )
        Device.objects.filter(pk=device_id).update(inventory_hash=state_hash(held))
    after = {**document({"a": "2", "b": "1"}), "hardware": hardware}
    change = agent_rules.delta(held, after)
    assert "hardware" not in change["sections"]  # what only the stored document holds
    step = report(2, state_hash=agent_rules.state_hash(after), delta=change)
    body = check_in(client, credential, device_id, [step]).json()
    assert body["need_full"] is False and body["accepted"] == [step["id"]]
    assert body["state_hash"] == agent_rules.state_hash(after)
    assert json.loads(_stored(device_id)) == after
    assert _changes(device_id) == {("a:amd64", "upgraded", "1", "2")}
