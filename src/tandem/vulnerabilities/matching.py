"""Which installed packages an advisory affects: a pure core, no Django (decision 0038).

The inputs are plain data: a device's platform (from its OS facts), its packages, and the
affected-package rows of the advisories for that platform's ecosystems, indexed by package
name. Each row is an OSV ``affected[]`` entry reduced to what matching needs: its ECOSYSTEM
ranges (events in ecosystem order: ``introduced`` / ``fixed`` / ``last_affected`` /
``limit``) and its explicit ``versions[]``. Debian tracker entries arrive in the same
shape (resolved at *v*: ``[introduced 0, fixed v]``; open: ``[introduced 0]``).

Versions compare with the ecosystem's own ordering (``agents.versions``): dpkg for Debian
and Ubuntu, rpmvercmp for AlmaLinux and Rocky Linux. Advisories of these distributions
name **source packages**, so a package matches by its source name (the binary name when the
agent reported no source) at its source version.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from tandem.agents.versions import compare_rpm_versions, compare_versions

Compare = Callable[[str, str], int]
#: One range: its events as (kind, version) pairs, in the order the record lists them.
Range = tuple[tuple[str, str], ...]

#: Debian release numbers and the codenames the Security Tracker uses.
DEBIAN_CODENAMES = {
    "10": "buster",
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
    "14": "forky",
}
DEBIAN_NUMBERS = {codename: number for number, codename in DEBIAN_CODENAMES.items()}


@dataclass(frozen=True)
class Platform:
    """What a device's OS means for matching: the OSV ecosystems whose records apply (most
    specific first) and the version ordering of its packages."""

    family: str  # debian, ubuntu, almalinux, rocky
    ecosystems: tuple[str, ...]
    compare: Compare


@dataclass(frozen=True)
class Package:
    """One installed package as the matcher sees it."""

    name: str
    version: str
    source: str = ""
    source_version: str = ""

    @property
    def match_name(self) -> str:
        return self.source or self.name

    @property
    def match_version(self) -> str:
        return self.source_version or self.version


@dataclass(frozen=True)
class Affected:
    """One affected package of one advisory, reduced for matching. ``key`` is the caller's
    id of the row (the database row's id)."""

    key: int
    package: str
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """An advisory's affected row that applies to a package at its installed version.
    ``fixed_version`` is the first fix above it in the matching range; empty when no fix
    exists yet (the finding is *unfixed*)."""

    key: int
    package: str
    binaries: tuple[str, ...]
    installed_version: str
    fixed_version: str


_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")


def platform_of(os_name: str, os_version: str) -> Platform | None:
    """The platform of a device whose OS facts are ``os_name`` (the os-release
    ``PRETTY_NAME``: "Debian GNU/Linux 12 (bookworm)", "Ubuntu 24.04.1 LTS", "AlmaLinux 9.4
    (Seafoam Ocelot)", "Rocky Linux 9.3 (Blue Onyx)") and ``os_version`` (``VERSION_ID``);
    None for a platform no advisory source here covers (Windows, macOS, others)."""
    name = os_name.lower()
    number = _NUMBER.match(os_version.strip()) or _NUMBER.search(os_name)
    if number is None:
        if name.startswith("debian") and "sid" in name:
            return Platform("debian", ("Debian:sid",), compare_versions)
        return None
    major, minor = number.group(1), number.group(2)
    if name.startswith("debian"):
        return Platform("debian", (f"Debian:{major}",), compare_versions)
    if name.startswith("ubuntu") and minor is not None:
        release = f"{major}.{minor}"
        lts = int(major) % 2 == 0 and minor == "04"
        ecosystems = (f"Ubuntu:{release}:LTS", f"Ubuntu:Pro:{release}:LTS") if lts else ()
        return Platform("ubuntu", (*ecosystems, f"Ubuntu:{release}"), compare_versions)
    if name.startswith("almalinux"):
        return Platform("almalinux", (f"AlmaLinux:{major}", "AlmaLinux"), compare_rpm_versions)
    if name.startswith("rocky"):
        return Platform("rocky", (f"Rocky Linux:{major}", "Rocky Linux"), compare_rpm_versions)
    return None


def comparator(ecosystem: str) -> Compare:
    """The version ordering of an OSV ecosystem's packages."""
    base = ecosystem.split(":", 1)[0]
    rpm = {"AlmaLinux", "Rocky Linux", "Red Hat", "SUSE", "openSUSE"}
    return compare_rpm_versions if base in rpm else compare_versions


def _sorted_events(events: Range, compare: Compare) -> list[tuple[str, str]]:
    def order(left: tuple[str, str], right: tuple[str, str]) -> int:
        # "0" (introduced from the beginning) precedes every version.
        if left[1] == "0" or right[1] == "0":
            return (left[1] != "0") - (right[1] != "0")
        return compare(left[1], right[1])

    return sorted(events, key=functools.cmp_to_key(order))


def in_range(
    version: str, events: Range, compare: Compare, *, ordered: bool = False
) -> tuple[bool, str]:
    """Whether ``version`` lies in the range, walking its events in version order (OSV
    schema: affected from an ``introduced``, no longer from a ``fixed`` or past a
    ``last_affected``, nothing at or past a ``limit``); with the fix that ends the interval
    it lies in ("" when none)."""
    affected = False
    fix = ""
    for kind, at in events if ordered else _sorted_events(events, compare):
        if kind == "introduced":
            if at == "0" or compare(version, at) >= 0:
                affected, fix = True, ""
        elif kind == "fixed":
            if compare(version, at) >= 0:
                affected = False
            elif affected and not fix:
                fix = at
        elif kind == "last_affected":
            if compare(version, at) > 0:
                affected = False
        elif kind == "limit" and compare(version, at) >= 0:
            affected = False
            break
    return affected, fix if affected else ""


def affects(
    row: Affected, version: str, compare: Compare, *, ordered: bool = False
) -> tuple[bool, str]:
    """Whether the advisory's row affects ``version``, and the fix (see :func:`in_range`).
    An explicit ``versions[]`` entry counts even outside every range. ``ordered``: the
    row's events are already in version order (:func:`ordered_row`)."""
    fixes = []
    hit = False
    for events in row.ranges:
        inside, fix = in_range(version, events, compare, ordered=ordered)
        if inside:
            hit = True
            fixes.append(fix)
    if not hit and any(compare(version, listed) == 0 for listed in row.versions):
        return True, ""
    if not hit:
        return False, ""
    if "" in fixes:
        return True, ""  # some range that holds the version has no fix yet
    return True, min(fixes, key=functools.cmp_to_key(compare))


def ordered_row(row: Affected, compare: Compare) -> Affected:
    """``row`` with each range's events put in version order once."""
    ranges = tuple(tuple(_sorted_events(events, compare)) for events in row.ranges)
    return Affected(row.key, row.package, ranges, row.versions)


def match(
    packages: Iterable[Package],
    rows_by_package: Mapping[str, Sequence[Affected]],
    compare: Compare,
) -> list[Hit]:
    """Every (row, source package) hit for a device's packages: one hit per row and source
    package, naming every binary built from it. Binaries of one source installed at
    different versions (a half-finished upgrade) count at the oldest affected one.

    A device's versions meet the same few fix versions again and again: comparisons are
    remembered for the call, and each row's events are ordered once."""
    compare = functools.lru_cache(maxsize=65536)(compare)
    by_name: dict[str, dict[str, list[str]]] = {}
    for package in packages:
        if package.match_name in rows_by_package and package.match_version:
            versions = by_name.setdefault(package.match_name, {})
            versions.setdefault(package.match_version, []).append(package.name)
    hits = []
    for name in sorted(by_name):
        versions = by_name[name]
        oldest_first = sorted(versions, key=functools.cmp_to_key(compare))
        binaries = tuple(sorted({b for names in versions.values() for b in names}))
        for row in rows_by_package[name]:
            row = ordered_row(row, compare)
            for version in oldest_first:
                affected, fix = affects(row, version, compare, ordered=True)
                if affected:
                    hits.append(Hit(row.key, name, binaries, version, fix))
                    break
    return hits


# --- One finding per CVE across sources (decision 0038, amended) ------------------------------

#: Most severe first; ``unknown`` last, so the most severe *known* rating wins.
SEVERITY_RANK = ("critical", "high", "medium", "low", "informational", "unknown")


def group_by_shared_cve(entries: Sequence[tuple[str, Sequence[str]]]) -> list[list[int]]:
    """Indices of ``entries`` (package, CVE ids) in groups: two entries of one package that
    name a common CVE are in one group, transitively (a DSA naming three CVEs joins the
    tracker's three records of them). An entry without CVE ids stays alone. Groups come in
    the order of their first entry, indices ascending."""
    parent = list(range(len(entries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for index, (package, cves) in enumerate(entries):
        for cve in cves:
            other = first_with.setdefault((package, cve.upper()), index)
            a, b = root(index), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(len(entries)):
        groups.setdefault(root(index), []).append(index)
    return [groups[key] for key in sorted(groups)]


def best_severity(severities: Iterable[str]) -> str:
    """The most severe known rating (``unknown`` only when nobody rated it)."""
    ranked = [s if s in SEVERITY_RANK else "unknown" for s in severities]
    return min(ranked, key=SEVERITY_RANK.index, default="unknown")


def best_fix(fixed_versions: Iterable[str], compare: Compare) -> str:
    """The fix that satisfies every source: the highest fixed version any of them names;
    empty (unfixed) only when none names one. A source that knows no fix yet does not hide
    the fix another one knows."""
    known = [v for v in fixed_versions if v]
    if not known:
        return ""
    return max(known, key=functools.cmp_to_key(compare))
