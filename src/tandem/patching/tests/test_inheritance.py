"""Policy inheritance: the nearest level that sets a setting wins, and says so."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.patching.inheritance import (
    DEFAULT_SOURCE,
    DEFAULTS,
    LEVEL_ORDER,
    SETTINGS,
    PolicyLayer,
    resolve,
)


def test_without_policies_the_defaults_hold_nothing_installs_unapproved() -> None:
    policy = resolve([])
    assert policy.values == DEFAULTS
    assert set(policy.sources.values()) == {DEFAULT_SOURCE}
    assert (
        policy.action_for(classification="security", severity="critical", package="x") == "manual"
    )


def test_the_device_overrides_its_group_which_overrides_the_tenant() -> None:
    policy = resolve(
        [
            PolicyLayer("device", "device db01", {"reboot_mode": "never"}),
            PolicyLayer("tenant", "tenant", {"security_critical": "auto", "reboot_mode": "always"}),
            PolicyLayer(
                "asset_group",
                "asset group Servers",
                {"reboot_mode": "if_required", "feature": "exclude"},
            ),
        ]
    )
    assert policy["reboot_mode"] == "never"
    assert policy.sources["reboot_mode"] == "device db01"
    assert policy["security_critical"] == "auto"
    assert policy.sources["security_critical"] == "tenant"
    assert policy.sources["feature"] == "asset group Servers"
    assert policy.sources["ring_id"] == DEFAULT_SOURCE
    assert policy.action_for(classification="security", severity="critical", package="a") == "auto"
    assert policy.action_for(classification="feature", severity="unknown", package="a") == "exclude"
    # A severity nobody knows reads as unknown.
    assert policy.action_for(classification="security", severity="weird", package="a") == "manual"


def test_excluded_packages_add_up_and_beat_any_approval() -> None:
    policy = resolve(
        [
            PolicyLayer("tenant", "tenant", {"security_critical": "auto"}, ("linux-image-amd64",)),
            PolicyLayer("device", "device db01", {}, ("postgresql-15", "linux-image-amd64")),
        ]
    )
    assert policy.excluded_packages == {
        "linux-image-amd64": ("tenant", "device db01"),
        "postgresql-15": ("device db01",),
    }
    assert (
        policy.action_for(classification="security", severity="critical", package="postgresql-15")
        == "exclude"
    )


def test_two_policies_of_one_level_are_an_error() -> None:
    with pytest.raises(ValueError, match="one policy per level"):
        resolve([PolicyLayer("site", "a", {}), PolicyLayer("site", "b", {})])


VALUES = st.one_of(st.none(), st.sampled_from(["auto", "manual", "exclude"]), st.integers(0, 30))
LAYERS = st.lists(
    st.tuples(
        st.sampled_from(LEVEL_ORDER),
        st.dictionaries(st.sampled_from(SETTINGS), VALUES, max_size=len(SETTINGS)),
    ),
    max_size=4,
    unique_by=lambda pair: pair[0],
)


@given(LAYERS)
def test_each_setting_comes_from_the_nearest_level_that_sets_it(layers) -> None:  # type: ignore[no-untyped-def]
    policy = resolve([PolicyLayer(level, level, values) for level, values in layers])
    for setting in SETTINGS:
        setters = [
            (LEVEL_ORDER.index(level), level, values[setting])
            for level, values in layers
            if values.get(setting) is not None
        ]
        if setters:
            _, level, value = max(setters)
            assert (policy.values[setting], policy.sources[setting]) == (value, level)
        else:
            assert (policy.values[setting], policy.sources[setting]) == (
                DEFAULTS[setting],
                DEFAULT_SOURCE,
            )
