"""Every API operation, run as every persona, against independent expectations."""

from __future__ import annotations

import pytest

from tandem.core import policies
from tandem.core.policies import registered_actions
from tests.isolation.matrix import Operation, api_operations, check_operation, is_known

OPERATIONS = api_operations()


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_operation_holds_for_every_persona(op: Operation, world) -> None:  # type: ignore[no-untyped-def]
    problems = check_operation(op, world)
    assert not problems, "\n".join(problems)


def test_every_operation_declares_a_registered_action() -> None:
    undeclared = [str(op) for op in OPERATIONS if op.action is None]
    unknown = [
        f"{op}: {op.action}"
        for op in OPERATIONS
        if op.action and op.action not in registered_actions()
    ]
    assert not undeclared, f"operations without a declared action: {undeclared}"
    assert not unknown, f"operations declaring an action with no policy: {unknown}"


def test_every_operation_has_an_expectation() -> None:
    missing = [str(op) for op in OPERATIONS if not is_known(op)]
    assert not missing, f"add these to tests/isolation/expectations.py: {missing}"


def test_the_matrix_covers_the_whole_api() -> None:
    # A sanity floor: if the registry walk broke, the matrix would silently test nothing.
    assert len(OPERATIONS) >= 40
    assert {op.method for op in OPERATIONS} >= {"GET", "POST", "PATCH"}


def _site_detail() -> Operation:
    return next(op for op in OPERATIONS if op.path == "/sites/{site_id}" and op.method == "GET")


def test_matrix_fails_when_a_policy_is_loosened(world) -> None:  # type: ignore[no-untyped-def]
    """A policy that lets everyone through must make the matrix fail: here a provider
    whose engagement covers only the Branch site would see the HQ site."""
    old = policies.replace_policy("tenancy.view_site", lambda principal, obj: True)
    try:
        problems = check_operation(_site_detail(), world, ("out_of_scope_tech",))
    finally:
        policies.replace_policy("tenancy.view_site", old)
    assert any("site answered 200, expected [404]" in p for p in problems), problems


def test_matrix_fails_when_a_policy_is_removed(world) -> None:  # type: ignore[no-untyped-def]
    """Without its policy an action is refused to everyone (fail closed), which the matrix
    reports for the personas that should have been let in."""
    old = policies._REGISTRY.pop("tenancy.view_site")
    try:
        problems = check_operation(_site_detail(), world, ("owner",))
    finally:
        policies._REGISTRY["tenancy.view_site"] = old
    assert any("as owner" in p and "expected [200]" in p for p in problems), problems
