"""Reading advisory data: the Debian Security Tracker JSON and CSV bulletins."""

from __future__ import annotations

import datetime as dt

import pytest

from tandem.agents.versions import compare_versions
from tandem.patching.advisories import AdvisoryError, debian_fixes, fixed_by, read_csv

TRACKER = {
    "openssl": {
        "CVE-2031-0001": {
            "releases": {
                "bookworm": {
                    "status": "resolved",
                    "fixed_version": "3.0.11-1~deb12u2",
                    "urgency": "high",
                },
                "trixie": {"status": "resolved", "fixed_version": "3.1.0-1", "urgency": "high"},
            }
        },
        "CVE-2031-0002": {
            "releases": {
                "bookworm": {"status": "resolved", "fixed_version": "3.0.9-1", "urgency": "low"}
            }
        },
        "CVE-2031-0003": {"releases": {"bookworm": {"status": "open", "urgency": "high"}}},
        "CVE-2031-0004": {
            "releases": {
                "bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "high"}
            }
        },
        "TEMP-0000001-ABCDEF": {
            "releases": {
                "bookworm": {"status": "resolved", "fixed_version": "3.0.1-1", "urgency": "medium"}
            }
        },
        "CVE-2031-0005": {
            "releases": {
                "bookworm": {
                    "status": "resolved",
                    "fixed_version": "3.0.11-1~deb12u3",
                    "urgency": "not yet assigned",
                }
            }
        },
    }
}


def test_only_resolved_cves_with_a_fix_in_the_release_count() -> None:
    fixes = debian_fixes(TRACKER, "bookworm")
    assert sorted(f.cve_id for f in fixes["openssl"]) == [
        "CVE-2031-0001",
        "CVE-2031-0002",
        "CVE-2031-0005",
    ]


def test_an_update_fixes_the_cves_between_the_devices_version_and_its_own() -> None:
    fixes = debian_fixes(TRACKER, "bookworm")["openssl"]
    cves, severity = fixed_by(
        version="3.0.11-1~deb12u2",
        current_versions=["3.0.11-1~deb12u1"],
        fixes=fixes,
        compare=compare_versions,
    )
    # 0002 was fixed long before the device's version; 0005 only in a later update.
    assert cves == ("CVE-2031-0001",) and severity == "high"
    cves, severity = fixed_by(
        version="3.0.11-1~deb12u3",
        current_versions=["3.0.8-1"],
        fixes=fixes,
        compare=compare_versions,
    )
    assert cves == ("CVE-2031-0001", "CVE-2031-0002", "CVE-2031-0005") and severity == "high"


def test_malformed_tracker_data_is_refused() -> None:
    with pytest.raises(AdvisoryError):
        debian_fixes({"openssl": ["not", "an", "object"]}, "bookworm")


def test_csv_bulletins() -> None:
    rows = read_csv(
        "os_family,package,version,severity,cve_ids,released_on\n"
        "windows,KB5034441,1,Critical,CVE-2031-1000 CVE-2031-1001,2031-01-09\n"
        "linux,curl,7.88.1-11,,,\n"
    )
    assert rows[0].severity == "critical" and rows[0].cve_ids == ("CVE-2031-1000", "CVE-2031-1001")
    assert rows[0].released_on == dt.date(2031, 1, 9)
    assert rows[1].severity == "unknown" and rows[1].released_on is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("package,version\nx,1\n", "lacks the column"),
        (
            "os_family,package,version,severity,cve_ids,released_on\nlinux,x,1,dire,,\n",
            "line 2: unknown severity",
        ),
        (
            "os_family,package,version,severity,cve_ids,released_on\nlinux,x,1,low,CVE-1,\n",
            "not a CVE id",
        ),
        (
            "os_family,package,version,severity,cve_ids,released_on\nlinux,x,1,low,,soon\n",
            "not a date",
        ),
        ("os_family,package,version,severity,cve_ids,released_on\nlinux,,1,low,,\n", "required"),
    ],
)
def test_bad_csv_names_the_problem(text: str, words: str) -> None:
    with pytest.raises(AdvisoryError, match=words):
        read_csv(text)
