"""Debian and RPM version ordering: the tricky cases security matching depends on, and
property tests (dpkg itself is the oracle for Debian versions where it is installed)."""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.agents.versions import compare_rpm_versions, compare_versions, rpmvercmp

DPKG = shutil.which("dpkg")


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1:9.2p1-2", "1:9.7p1-7"),
        ("1.0~rc1-1", "1.0-1"),
        ("3.0.11-1~deb12u2", "3.0.11-1"),
        ("1:9.2p1-2+deb12u4", "1:9.2p1-2+deb12u10"),
        ("2.36-9+deb12u4", "2.36-9+deb12u10"),
        ("1.0~~", "1.0~"),
        ("1.0", "1.0a"),
        ("1.0-1", "1:0.1-1"),
        ("9.6p1-3ubuntu13", "9.6p1-3ubuntu13.5"),
        ("1.0+dfsg", "1.0.1"),
    ],
)
def test_dpkg_orders_the_tricky_cases(left: str, right: str) -> None:
    assert compare_versions(left, right) == -1
    assert compare_versions(right, left) == 1


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1.0~rc1", "1.0"),
        ("1.0", "1.0^git1"),
        ("1.0^git1", "1.0.1"),
        ("1.0^", "1.0^git1"),
        ("1.0~rc1^git1", "1.0~rc1^git2"),
        ("3.0.7-24.el9", "3.0.7-25.el9_3"),
        ("3.0.7-25.el9", "3.0.7-25.el9_3"),
        ("8.7p1-34.el9", "8.7p1-38.el9_4.1"),
        ("1:3.0.7-27.el9", "2:1.0-1.el9"),
        ("3.0.7-28.el9", "1:3.0.1-1.el9"),
        ("1.9", "1.10"),
        ("a", "1"),
        ("1.0", "1.0.a"),
        ("5.14.0-362.8.1.el9_3", "5.14.0-427.13.1.el9_4"),
    ],
)
def test_rpm_orders_the_tricky_cases(left: str, right: str) -> None:
    assert compare_rpm_versions(left, right) == -1
    assert compare_rpm_versions(right, left) == 1


@pytest.mark.parametrize(
    ("left", "right"),
    [("1.0", "1.0"), ("1.01", "1.1"), ("1.0", "1_0"), ("0:2.1-1", "2.1-1"), ("1..0", "1.0")],
)
def test_rpm_equal_versions(left: str, right: str) -> None:
    assert compare_rpm_versions(left, right) == 0


# Versions built from the characters that carry meaning in each format.
_DEB_UPSTREAM = st.from_regex(r"[0-9][0-9a-z.+~]{0,7}", fullmatch=True)
_DEB_REVISION = st.from_regex(r"[0-9a-z.+~]{1,6}", fullmatch=True)
DEB_VERSIONS = st.builds(
    lambda epoch, upstream, revision: f"{epoch}{upstream}{revision}",
    st.sampled_from(["", "", "1:", "2:"]),
    _DEB_UPSTREAM,
    st.one_of(st.just(""), _DEB_REVISION.map(lambda r: f"-{r}")),
)
RPM_VERSIONS = st.builds(
    lambda epoch, version, release: f"{epoch}{version}{release}",
    st.sampled_from(["", "1:", "0:"]),
    st.from_regex(r"[0-9a-z.~^_]{1,8}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"-[0-9a-z.~^_]{1,6}", fullmatch=True)),
)


@functools.cache
def _dpkg(left: str, right: str) -> int:
    assert DPKG is not None
    if subprocess.run([DPKG, "--compare-versions", left, "lt", right], check=False).returncode == 0:
        return -1
    if subprocess.run([DPKG, "--compare-versions", left, "eq", right], check=False).returncode == 0:
        return 0
    return 1


@pytest.mark.skipif(DPKG is None, reason="dpkg is not installed: no oracle for Debian versions")
@settings(max_examples=150, deadline=None)
@given(DEB_VERSIONS, DEB_VERSIONS)
def test_dpkg_ordering_agrees_with_dpkg(left: str, right: str) -> None:
    assert compare_versions(left, right) == _dpkg(left, right)


@settings(max_examples=300)
@given(st.lists(DEB_VERSIONS, min_size=3, max_size=3))
def test_dpkg_ordering_is_a_total_order(versions: list[str]) -> None:
    _assert_total_order(compare_versions, versions)


@settings(max_examples=300)
@given(st.lists(RPM_VERSIONS, min_size=3, max_size=3))
def test_rpm_ordering_is_a_total_order(versions: list[str]) -> None:
    _assert_total_order(compare_rpm_versions, versions)


@settings(max_examples=300)
@given(st.from_regex(r"[0-9a-z.~^]{1,8}", fullmatch=True))
def test_a_tilde_suffix_is_older_and_a_caret_suffix_newer(version: str) -> None:
    assert rpmvercmp(version + "~x", version) == -1
    assert rpmvercmp(version + "^x", version) == 1


def _assert_total_order(compare, versions: list[str]) -> None:  # type: ignore[no-untyped-def]
    a, b, c = versions
    assert compare(a, a) == 0
    assert compare(a, b) == -compare(b, a)
    if compare(a, b) <= 0 and compare(b, c) <= 0:
        assert compare(a, c) <= 0
    ordered = sorted(versions, key=functools.cmp_to_key(compare))
    assert all(compare(x, y) <= 0 for x, y in zip(ordered, ordered[1:], strict=False))
