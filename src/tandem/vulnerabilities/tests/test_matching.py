"""The matching core on plain data: OSV range walks, Debian tracker shapes, platforms,
source packages. No database."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tandem.agents.versions import compare_rpm_versions, compare_versions
from tandem.vulnerabilities import matching, sources
from tandem.vulnerabilities.matching import Affected, Package

DATA = Path(__file__).parent / "data"


def _affects(version: str, *events: tuple[str, str], compare=compare_versions) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    return matching.affects(Affected(key=1, package="p", ranges=(tuple(events),)), version, compare)


def test_introduced_and_fixed_bound_the_range_in_dpkg_order() -> None:
    events = (("introduced", "0"), ("fixed", "1:9.2p1-2+deb12u3"))
    assert _affects("1:9.2p1-2+deb12u2", *events) == (True, "1:9.2p1-2+deb12u3")
    assert _affects("1:9.2p1-2", *events) == (True, "1:9.2p1-2+deb12u3")
    assert _affects("1:9.2p1-2+deb12u3", *events) == (False, "")
    # deb12u10 is newer than deb12u3 (a string comparison says otherwise).
    assert _affects("1:9.2p1-2+deb12u10", *events) == (False, "")
    assert _affects("1:9.7p1-7", *events) == (False, "")


def test_events_are_walked_in_version_order_not_listed_order() -> None:
    # Two intervals, listed out of order: [1.0, 1.2) and [2.0, 2.3).
    events = (
        ("fixed", "2.3-1"),
        ("introduced", "2.0-1"),
        ("fixed", "1.2-1"),
        ("introduced", "1.0-1"),
    )
    assert _affects("0.9-1", *events) == (False, "")
    assert _affects("1.1-1", *events) == (True, "1.2-1")
    assert _affects("1.5-1", *events) == (False, "")
    assert _affects("2.1-1", *events) == (True, "2.3-1")
    assert _affects("2.3-1", *events) == (False, "")


def test_last_affected_is_inclusive_and_limit_ends_everything() -> None:
    assert _affects("1.4", ("introduced", "1.0"), ("last_affected", "1.4")) == (True, "")
    assert _affects("1.5", ("introduced", "1.0"), ("last_affected", "1.4")) == (False, "")
    assert _affects("2.0", ("introduced", "0"), ("limit", "2.0")) == (False, "")
    assert _affects("1.9", ("introduced", "0"), ("limit", "2.0")) == (True, "")


def test_an_open_range_is_unfixed() -> None:
    assert _affects("1:9.2p1-2+deb12u3", ("introduced", "0")) == (True, "")


def test_tilde_versions_sort_before_the_release() -> None:
    events = (("introduced", "0"), ("fixed", "3.0.14-1~deb12u1"))
    assert _affects("3.0.11-1~deb12u2", *events)[0]
    assert _affects("3.0.14-1~deb12u1", *events) == (False, "")
    assert not _affects("3.0.14-1", *events)[0]


def test_rpm_ranges_use_rpm_ordering() -> None:
    events = (("introduced", "0"), ("fixed", "1:3.0.7-27.el9"))
    assert _affects("1:3.0.7-24.el9", *events, compare=compare_rpm_versions)[0]
    assert not _affects("1:3.0.7-27.el9", *events, compare=compare_rpm_versions)[0]
    assert not _affects("1:3.0.7-27.el9_4.1", *events, compare=compare_rpm_versions)[0]
    # Without the epoch the installed version is older than any epoch-1 fix.
    assert _affects("3.0.8-1.el9", *events, compare=compare_rpm_versions)[0]


def test_an_explicit_version_counts_outside_every_range() -> None:
    row = Affected(key=1, package="p", ranges=(), versions=("1.0-1", "1.0-2"))
    assert matching.affects(row, "1.0-2", compare_versions) == (True, "")
    assert matching.affects(row, "1.0-3", compare_versions) == (False, "")


@pytest.mark.parametrize(
    ("os_name", "os_version", "ecosystems", "compare"),
    [
        ("Debian GNU/Linux 12 (bookworm)", "12", ("Debian:12",), compare_versions),
        ("Debian GNU/Linux trixie/sid", "", ("Debian:sid",), compare_versions),
        (
            "Ubuntu 24.04.1 LTS",
            "24.04",
            ("Ubuntu:24.04:LTS", "Ubuntu:Pro:24.04:LTS", "Ubuntu:24.04"),
            compare_versions,
        ),
        ("Ubuntu 23.10", "23.10", ("Ubuntu:23.10",), compare_versions),
        (
            "AlmaLinux 9.4 (Seafoam Ocelot)",
            "9.4",
            ("AlmaLinux:9", "AlmaLinux"),
            compare_rpm_versions,
        ),
        (
            "Rocky Linux 9.3 (Blue Onyx)",
            "9.3",
            ("Rocky Linux:9", "Rocky Linux"),
            compare_rpm_versions,
        ),
    ],
)
def test_platform_from_the_devices_os_facts(os_name, os_version, ecosystems, compare) -> None:  # type: ignore[no-untyped-def]
    platform = matching.platform_of(os_name, os_version)
    assert platform is not None
    assert platform.ecosystems == ecosystems
    assert platform.compare is compare


@pytest.mark.parametrize(
    ("os_name", "os_version"),
    [("Microsoft Windows 11 Pro", "10.0.22631"), ("macOS 14.5", "14.5"), ("Arch Linux", "")],
)
def test_no_platform_for_systems_without_an_advisory_source(os_name: str, os_version: str) -> None:
    assert matching.platform_of(os_name, os_version) is None


def test_packages_match_by_source_and_binaries_are_grouped() -> None:
    rows = {
        "openssh": [
            Affected(
                key=7,
                package="openssh",
                ranges=((("introduced", "0"), ("fixed", "1:9.2p1-2+deb12u3")),),
            )
        ]
    }
    packages = [
        Package("openssh-client", "1:9.2p1-2+deb12u2", "openssh", "1:9.2p1-2+deb12u2"),
        Package("openssh-server", "1:9.2p1-2+deb12u2", "openssh", "1:9.2p1-2+deb12u2"),
        Package("openssh-sftp-server", "1:9.2p1-2+deb12u2", "openssh", "1:9.2p1-2+deb12u2"),
        # A binary named like the source but built from another: never matched by name.
        Package("openssh", "1.0", "not-openssh", "1.0"),
        Package("bash", "5.2.15-2"),
    ]
    hits = matching.match(packages, rows, compare_versions)
    assert hits == [
        matching.Hit(
            key=7,
            package="openssh",
            binaries=("openssh-client", "openssh-server", "openssh-sftp-server"),
            installed_version="1:9.2p1-2+deb12u2",
            fixed_version="1:9.2p1-2+deb12u3",
        )
    ]


def test_a_package_without_a_source_matches_by_its_own_name() -> None:
    rows = {
        "openssl": [
            Affected(
                key=1,
                package="openssl",
                ranges=((("introduced", "0"), ("fixed", "1:3.0.7-27.el9")),),
            )
        ]
    }
    hits = matching.match([Package("openssl", "1:3.0.7-24.el9")], rows, compare_rpm_versions)
    assert [(h.package, h.installed_version, h.fixed_version) for h in hits] == [
        ("openssl", "1:3.0.7-24.el9", "1:3.0.7-27.el9")
    ]


def test_half_upgraded_binaries_count_at_the_oldest_affected_version() -> None:
    rows = {
        "openssl": [
            Affected(
                key=1,
                package="openssl",
                ranges=((("introduced", "0"), ("fixed", "3.0.14-1~deb12u1")),),
            )
        ]
    }
    packages = [
        Package("libssl3", "3.0.14-1~deb12u1", "openssl", "3.0.14-1~deb12u1"),
        Package("openssl", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2"),
    ]
    (hit,) = matching.match(packages, rows, compare_versions)
    assert hit.installed_version == "3.0.11-1~deb12u2"


def test_the_debian_tracker_becomes_ranges_of_the_release() -> None:
    data = json.loads((DATA / "debian-tracker.json").read_text())
    records = {r.advisory_id: r for r in sources.tracker_records(data, "bookworm")}
    # Resolved → [0, fixed); open → unfixed; undetermined and TEMP- ids left out.
    assert set(records) == {
        "CVE-2024-6387",
        "CVE-2023-51767",
        "CVE-2023-48795",
        "CVE-2024-5535",
        "CVE-2022-3715",
    }
    (regression,) = records["CVE-2024-6387"].affected
    assert regression.ecosystem == "Debian:12"
    assert regression.ranges == ((("introduced", "0"), ("fixed", "1:9.2p1-2+deb12u3")),)
    (rowhammer,) = records["CVE-2023-51767"].affected
    assert rowhammer.ranges == ((("introduced", "0"),),)
    assert records["CVE-2023-51767"].severity == "informational"  # urgency unimportant
    assert records["CVE-2024-6387"].severity == "unknown"  # not yet assigned
    assert records["CVE-2023-48795"].severity == "medium"
    # bullseye's "0" means never affected: no record for that release.
    assert sources.tracker_records(data, "bullseye") == []


def test_osv_records_keep_their_source_and_cvss_severity() -> None:
    (record,) = sources.read_osv(DATA / "osv-debian" / "DEBIAN-CVE-2024-5535.json")
    assert record.advisory_id == "DEBIAN-CVE-2024-5535"
    assert record.origin == "DEBIAN"
    assert record.severity == "critical"
    assert str(record.cvss_score) == "9.1"
    assert record.cve_ids == ("CVE-2024-5535",)
    assert [a.ecosystem for a in record.affected] == ["Debian:12", "Debian:11"]
    (alma,) = sources.read_osv(DATA / "osv-alma" / "ALSA-2024:4312.json")
    assert alma.url == "https://errata.almalinux.org/9/ALSA-2024-4312.html"
    assert alma.severity == "high"  # 8.1
    assert alma.cve_ids == ("CVE-2024-6387",)


def test_a_folder_and_a_zip_read_the_same_records(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted((DATA / "osv-debian").glob("*.json")):
            out.write(file, file.name)
    from_folder = sorted(r.advisory_id for r in sources.read_osv(DATA / "osv-debian"))
    from_zip = sorted(r.advisory_id for r in sources.read_osv(archive))
    assert (
        from_folder == from_zip == ["DEBIAN-CVE-2023-51767", "DEBIAN-CVE-2024-5535", "DSA-5724-1"]
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "a JSON object"),
        ({"modified": "2024-01-01T00:00:00Z"}, "no id"),
        ({"id": "X-1"}, "'modified' is required"),
        ({"id": "X-1", "modified": "yesterday"}, "not an RFC 3339 time"),
        (
            {
                "id": "X-1",
                "modified": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"name": "a"}}],
            },
            "package.ecosystem",
        ),
        (
            {
                "id": "X-1",
                "modified": "2024-01-01T00:00:00Z",
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": "a"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1"}]}],
                    }
                ],
            },
            "needs an 'introduced'",
        ),
    ],
)
def test_a_malformed_osv_record_is_refused_with_the_place(record, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sources.SourceError, match=message):
        sources.osv_record(record, "bad.json")


def test_hits_sharing_a_cve_in_one_package_group_transitively() -> None:
    entries = [
        ("openssh", ["CVE-2024-6387", "CVE-2024-6409"]),  # a DSA naming two CVEs
        ("openssh", ["cve-2024-6409"]),  # the tracker's record of the second
        ("openssl", ["CVE-2024-6387"]),  # same id, another package: apart
        ("openssh", ["CVE-2024-6387"]),  # the tracker's record of the first
        ("openssh", []),  # no CVE named: alone
    ]
    assert matching.group_by_shared_cve(entries) == [[0, 1, 3], [2], [4]]
    assert matching.best_severity(["unknown", "low", "informational"]) == "low"
    assert matching.best_severity(["unknown"]) == "unknown"
    assert matching.best_fix(["", "1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10"], compare_versions) == (
        "1:9.2p1-2+deb12u10"
    )
    assert matching.best_fix(["", ""], compare_versions) == ""
