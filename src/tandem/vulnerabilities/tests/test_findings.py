"""Findings end to end: advisories imported with the real command, a device reporting its
inventory through the real check-in, findings opened, fixed by an upgrade, linked to the
patching update that fixes them, risk accepted and expired; imports idempotent and a bad
file changing nothing."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.personas import World, login_client

from tandem.agents.models import AgentState
from tandem.agents.tests.support import check_in, document, full
from tandem.assets.models import Device
from tandem.audit.models import AuditEntry
from tandem.cli import main as tandem
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.vulnerabilities import queries, services
from tandem.vulnerabilities.models import Advisory, AffectedPackage, Finding
from tandem.vulnerabilities.tasks import match_vulnerabilities_task

DATA = Path(__file__).parent / "data"
SYSTEM = system_principal("test: vulnerabilities")

#: A Debian 12 server before the regreSSHion fix: openssh's binaries at deb12u2, libssl3
#: and openssl from an older openssl, bash current.
BOOKWORM = [
    ("openssh-client", "1:9.2p1-2+deb12u2", "openssh"),
    ("openssh-server", "1:9.2p1-2+deb12u2", "openssh"),
    ("libssl3", "3.0.11-1~deb12u2", "openssl"),
    ("openssl", "3.0.11-1~deb12u2", "openssl"),
    ("bash", "5.2.15-2", "bash"),
]


def _report(
    world: World,
    packages: list[tuple[str, str, str]],
    *,
    os_name: str = "Debian GNU/Linux 12 (bookworm)",
    os_version: str = "12",
    updates: dict[str, tuple[str, str, bool]] | None = None,
    match: bool = True,
) -> None:
    """The HQ device checks in with a full inventory of ``packages`` (binary, version,
    source; the source version is the binary's), then is matched (unless ``match`` is
    false) as the periodic task would."""
    with system_context("test: the agent's sequence"):
        state = AgentState.objects.get(device_id=world["device"])
    inventory = document({}, updates)
    inventory["os"].update({"pretty_name": os_name, "version": os_version})
    inventory["software"] = [
        {
            "id": f"{name}:amd64",
            "name": name,
            "version": version,
            "arch": "amd64",
            "source": source,
            "source_version": version,
        }
        for name, version, source in packages
    ]
    answer = check_in(
        Client(),
        world.secrets["device_credential"],
        str(world["device"]),
        [full(state.last_sequence + 1, inventory)],
    )
    assert answer.status_code == 200, answer.content
    if match:
        services.match_device(actor=SYSTEM, device_id=world["device"])


def _findings(world: World) -> dict[tuple[str, str], Finding]:
    world_made = (world["finding"], world["accepted_finding"])  # the persona world's own
    with system_context("test: findings"):
        rows = (
            Finding.objects.filter(device_id=world["device"])
            .exclude(pk__in=world_made)
            .select_related("update")
        )
        return {(f.advisory_ref, f.package): f for f in rows}


def _import(*argv: str) -> int:
    return tandem(["vulnerabilities", "import", *argv])


def _advisory_count() -> tuple[int, int]:
    with system_context("test: advisories"):
        return Advisory.objects.count(), AffectedPackage.objects.count()


@pytest.fixture
def advisories(world: World) -> World:  # type: ignore[no-untyped-def]
    assert _import(str(DATA / "osv-debian"), "--format", "osv", "--no-match") == 0
    assert _import(str(DATA / "osv-alma"), "--format", "osv", "--no-match") == 0
    tracker = str(DATA / "debian-tracker.json")
    assert _import(tracker, "--format", "debian", "--release", "bookworm", "--no-match") == 0
    return world


def test_a_debian_device_gets_findings_by_source_package(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    found = _findings(advisories)
    # OSV (DSA, DEBIAN-CVE) and the tracker name the same three CVEs: one finding each,
    # named by its most severe advisory, every source kept on it (decision 0038, amended).
    assert set(found) == {
        ("DSA-5724-1", "openssh"),
        ("DEBIAN-CVE-2024-5535", "openssl"),
        ("CVE-2023-51767", "openssh"),
    }
    dsa = found[("DSA-5724-1", "openssh")]
    assert dsa.binaries == "openssh-client, openssh-server"
    assert (dsa.installed_version, dsa.fixed_version) == ("1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3")
    assert dsa.cve_ids == ["CVE-2024-6387"]
    assert dsa.status == "open"
    assert dsa.sources == [
        {"source": "osv", "advisory": "DSA-5724-1"},
        {"source": "debian-tracker", "advisory": "CVE-2024-6387"},
    ]
    # The OSV record's CVSS vector says critical, the tracker's urgency low: the most
    # severe known rating stays.
    openssl = found[("DEBIAN-CVE-2024-5535", "openssl")]
    assert openssl.severity == "critical"
    assert {s["source"] for s in openssl.sources} == {"osv", "debian-tracker"}
    # Only the tracker rates the row hammer issue (informational): known beats unknown.
    rowhammer = found[("CVE-2023-51767", "openssh")]
    assert rowhammer.unfixed and rowhammer.severity == "informational"
    assert [s["advisory"] for s in rowhammer.sources] == [
        "CVE-2023-51767",
        "DEBIAN-CVE-2023-51767",
    ]
    # Not matched: Terrapin is fixed at deb12u2; bash's CVE was fixed long before 5.2.15;
    # the alma records are of another ecosystem; undetermined CVE-2024-2511 is no finding.
    assert not any(ref in {"CVE-2023-48795", "CVE-2022-3715", "CVE-2024-2511"} for ref, _ in found)


def test_an_upgrade_fixes_what_it_fixes_and_a_downgrade_opens_it_again(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    upgraded = [
        (name, "1:9.2p1-2+deb12u10" if source == "openssh" else version, source)
        for name, version, source in BOOKWORM
    ]
    _report(advisories, upgraded)
    found = _findings(advisories)
    assert found[("DSA-5724-1", "openssh")].status == "fixed"
    assert found[("DSA-5724-1", "openssh")].fixed_at is not None
    # No fix exists for the row hammer issue: still open at the new version.
    assert found[("CVE-2023-51767", "openssh")].status == "open"
    assert found[("CVE-2023-51767", "openssh")].installed_version == "1:9.2p1-2+deb12u10"
    assert found[("DEBIAN-CVE-2024-5535", "openssl")].status == "open"
    _report(advisories, BOOKWORM)
    again = _findings(advisories)[("DSA-5724-1", "openssh")]
    assert (again.status, again.fixed_at) == ("open", None)
    assert again.first_seen == found[("DSA-5724-1", "openssh")].first_seen


def test_a_finding_links_the_patching_update_that_fixes_it(advisories: World) -> None:
    offered = {"openssh-server": ("1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3", True)}
    _report(advisories, BOOKWORM, updates=offered)
    dsa = _findings(advisories)[("DSA-5724-1", "openssh")]
    assert dsa.update is not None
    assert (dsa.update.package, dsa.update.version) == ("openssh-server", "1:9.2p1-2+deb12u3")
    # openssl has no update on offer: nothing to link.
    assert _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")].update is None


def test_an_alma_device_matches_with_rpm_ordering(advisories: World) -> None:
    alma = [
        ("openssh-server", "8.7p1-38.el9", "openssh"),
        ("openssh-clients", "8.7p1-38.el9", "openssh"),
        ("openssl", "1:3.0.7-27.el9", "openssl"),
        ("openssl-libs", "1:3.0.7-27.el9", "openssl"),
    ]
    _report(advisories, alma, os_name="AlmaLinux 9.4 (Seafoam Ocelot)", os_version="9.4")
    found = _findings(advisories)
    # 8.7p1-38.el9 < 8.7p1-38.el9.alma.2 (rpm: the side with more segments is newer);
    # openssl is at its fix exactly; the Debian records do not apply.
    assert set(found) == {("ALSA-2024:4312", "openssh")}
    assert found[("ALSA-2024:4312", "openssh")].severity == "high"
    fixed = [(n, "8.7p1-38.el9.alma.2", s) if s == "openssh" else (n, v, s) for n, v, s in alma]
    _report(advisories, fixed, os_name="AlmaLinux 9.4 (Seafoam Ocelot)", os_version="9.4")
    assert _findings(advisories)[("ALSA-2024:4312", "openssh")].status == "fixed"


def test_reimport_changes_nothing_and_a_newer_record_replaces_the_old(
    advisories: World, tmp_path: Path, capsys: Any
) -> None:
    before = _advisory_count()
    assert _import(str(DATA / "osv-debian"), "--format", "osv", "--no-match") == 0
    tracker = str(DATA / "debian-tracker.json")
    assert _import(tracker, "--format", "debian", "--release", "bookworm", "--no-match") == 0
    out = capsys.readouterr().out
    assert "0 added, 0 updated, 3 unchanged, 0 removed" in out
    assert "0 added, 0 updated, 5 unchanged, 0 removed" in out
    assert _advisory_count() == before
    # The DSA revised: fixed later; then withdrawn.
    record = json.loads((DATA / "osv-debian" / "DSA-5724-1.json").read_text())
    record["modified"] = "2024-08-01T00:00:00Z"
    record["affected"][0]["ranges"][0]["events"][1]["fixed"] = "1:9.2p1-2+deb12u4"
    revised = tmp_path / "DSA-5724-1.json"
    revised.write_text(json.dumps(record))
    assert _import(str(revised), "--format", "osv", "--no-match") == 0
    _report(advisories, BOOKWORM)
    assert _findings(advisories)[("DSA-5724-1", "openssh")].fixed_version == "1:9.2p1-2+deb12u4"
    record["modified"] = "2024-09-01T00:00:00Z"
    record["withdrawn"] = "2024-09-01T00:00:00Z"
    revised.write_text(json.dumps(record))
    assert _import(str(revised), "--format", "osv") == 0
    with system_context("test: advisories"):
        assert not Advisory.objects.filter(advisory_id="DSA-5724-1").exists()
    assert _findings(advisories)[("DSA-5724-1", "openssh")].status == "fixed"


def test_the_tracker_file_is_the_whole_truth_for_its_release(
    advisories: World, tmp_path: Path
) -> None:
    data = json.loads((DATA / "debian-tracker.json").read_text())
    del data["openssh"]["CVE-2023-51767"]
    data["openssl"]["CVE-2024-5535"]["releases"]["bookworm"]["fixed_version"] = "3.0.15-1~deb12u1"
    changed = tmp_path / "tracker.json"
    changed.write_text(json.dumps(data))
    assert _import(str(changed), "--format", "debian", "--release", "bookworm") == 0
    with system_context("test: advisories"):
        assert not Advisory.objects.filter(
            advisory_id="CVE-2023-51767", source="debian-tracker"
        ).exists()
        row = AffectedPackage.objects.get(
            advisory__advisory_id="CVE-2024-5535", advisory__source="debian-tracker"
        )
    assert row.ranges == [[["introduced", "0"], ["fixed", "3.0.15-1~deb12u1"]]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"id": "DSA-1-1"}', "'modified' is required"),
    ],
)
def test_a_malformed_file_is_a_clear_error_and_changes_nothing(
    advisories: World, tmp_path: Path, capsys: Any, content: str, message: str
) -> None:
    folder = tmp_path / "osv"
    shutil.copytree(DATA / "osv-debian", folder)
    # A good record first (a new one), then the bad file: the good one is not kept either.
    good = json.loads((DATA / "osv-debian" / "DSA-5724-1.json").read_text())
    good["id"] = "DSA-5725-1"
    (folder / "A-good.json").write_text(json.dumps(good))
    (folder / "Z-bad.json").write_text(content)
    before = _advisory_count()
    assert _import(str(folder), "--format", "osv") == 1
    err = capsys.readouterr().err
    assert message in err and "Z-bad.json" in err and "nothing was imported" in err
    assert _advisory_count() == before
    tracker = tmp_path / "tracker.json"
    tracker.write_text('{"openssl": ["not", "an", "object"]}')
    assert _import(str(tracker), "--format", "debian", "--release", "bookworm") == 1
    assert "expected an object of issues" in capsys.readouterr().err
    assert _advisory_count() == before


def test_accepting_a_risk_needs_a_reason_and_an_expiry_and_expires(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    finding = _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")]
    client = login_client(Client(), advisories, "internal_tech")
    url = f"/api/v1/vulnerabilities/findings/{finding.pk}/accept-risk"
    soon = timezone.now() + dt.timedelta(days=7)
    missing = client.post(
        url, {"reason": "", "expires_at": soon.isoformat()}, content_type="application/json"
    )
    assert missing.status_code == 422
    past = client.post(
        url,
        {
            "reason": "Internal only",
            "expires_at": (timezone.now() - dt.timedelta(days=1)).isoformat(),
        },
        content_type="application/json",
    )
    assert past.status_code == 422 and "future" in past.content.decode()
    # A provider sees the finding but the risk is the tenant's to accept.
    provider = login_client(Client(), advisories, "provider_tech")
    refused = provider.post(
        url,
        {"reason": "We say so", "expires_at": soon.isoformat()},
        content_type="application/json",
    )
    assert refused.status_code == 403
    accepted = client.post(
        url,
        {"reason": "No TLS server on this host", "expires_at": soon.isoformat()},
        content_type="application/json",
    )
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert body["status"] == "risk_accepted" and body["risk_reason"] == "No TLS server on this host"
    with system_context("test: audit"):
        assert AuditEntry.objects.filter(
            action="vulnerabilities.risk_accepted", target_id=str(finding.pk)
        ).exists()
    # Matching again keeps the acceptance until the expiry; after it, open again.
    _report(advisories, BOOKWORM)
    assert _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")].status == "risk_accepted"
    assert services.expire_risk_acceptances(actor=SYSTEM, now=soon + dt.timedelta(minutes=1)) == 1
    assert _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")].status == "open"


def test_a_fixed_finding_has_no_risk_to_accept(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    _report(advisories, [(n, "1:9.2p1-2+deb12u10", s) for n, _, s in BOOKWORM if s == "openssh"])
    finding = _findings(advisories)[("DSA-5724-1", "openssh")]
    client = login_client(Client(), advisories, "owner")
    answer = client.post(
        f"/api/v1/vulnerabilities/findings/{finding.pk}/accept-risk",
        {"reason": "x", "expires_at": (timezone.now() + dt.timedelta(days=1)).isoformat()},
        content_type="application/json",
    )
    assert answer.status_code == 422 and "fixed" in answer.content.decode()


def test_the_dashboard_counts_what_the_reader_sees(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    client = login_client(Client(), advisories, "owner")
    summary = client.get(f"/api/v1/vulnerabilities/tenants/{advisories['tenant']}/summary").json()
    # The HQ device's three (one per CVE, whichever sources name it) and the world's one
    # on the Branch device (its two on HQ were made up, not matched: the matching found
    # them gone and fixed them).
    assert summary["by_status"]["open"] == 4
    assert summary["open_by_severity"]["critical"] == 1
    assert summary["unfixed"] == 1
    # openssl (critical): one finding on HQ, the world's one on the Branch device.
    assert {
        "package": "openssl",
        "findings": 2,
        "devices": 2,
        "worst": "critical",
    } in summary["top_packages"]
    assert summary["most_exposed_devices"][0]["device_id"] == advisories["device"]
    page = client.get(f"/tenants/{advisories['tenant']}/vulnerabilities/findings/?unfixed=1")
    assert page.status_code == 200
    text = page.content.decode()
    assert "CVE-2023-51767" in text and "unfixed" in text and "DSA-5724-1" not in text
    device_page = client.get(f"/devices/{advisories['device']}/")
    assert "DSA-5724-1" in device_page.content.decode()


def test_the_periodic_task_matches_devices_whose_software_changed(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    assert advisories["device"] not in queries.devices_to_match()
    # The device upgrades openssh without the worker matching it (no pending-update change
    # told anyone): the periodic task finds it.
    upgraded = [
        (n, "1:9.2p1-2+deb12u10", s) if s == "openssh" else (n, v, s) for n, v, s in BOOKWORM
    ]
    _report(advisories, upgraded, match=False)
    assert advisories["device"] in queries.devices_to_match()
    result = match_vulnerabilities_task.func()
    assert result["devices"] >= 1 and result["fixed"] >= 1
    assert _findings(advisories)[("DSA-5724-1", "openssh")].status == "fixed"
    assert advisories["device"] not in queries.devices_to_match()


def test_a_pending_update_change_matches_the_device_at_once(advisories: World) -> None:
    # The suite runs subscribers as the event is recorded, before the check-in stores the
    # device's OS facts (the worker runs them after the commit): the first report sets them.
    _report(advisories, BOOKWORM, match=False)
    assert _findings(advisories) == {}
    offered = {"openssh-server": ("1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3", True)}
    _report(advisories, BOOKWORM, updates=offered, match=False)  # the subscriber matches
    assert ("DSA-5724-1", "openssh") in _findings(advisories)


def test_matching_is_set_based_whatever_the_package_count(
    advisories: World, tmp_path: Path
) -> None:
    """A device's matching costs a handful of queries for 5 packages and hardly more for
    400 more, each named by an advisory (400 findings made): rows go in bulk statements
    (SQLite takes fewer rows per statement than PostgreSQL), never a query per row."""
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for n in range(400):
            record = {
                "id": f"DEBIAN-CVE-2031-{10000 + n}",
                "modified": "2031-01-01T00:00:00Z",
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": f"lib{n}"},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": "2.0-1"}],
                            }
                        ],
                    }
                ],
            }
            out.writestr(f"{record['id']}.json", json.dumps(record))
    assert _import(str(archive), "--format", "osv", "--no-match") == 0

    def queries_to_match(packages: list[tuple[str, str, str]]) -> int:
        _report(advisories, packages, match=False)
        with CaptureQueriesContext(connection) as run:
            services.match_device(actor=SYSTEM, device_id=advisories["device"])
        return len(run.captured_queries)

    few = queries_to_match(BOOKWORM)
    many = queries_to_match(BOOKWORM + [(f"lib{n}", "1.0-1", f"lib{n}") for n in range(400)])
    assert many - few < 400 / 20, (few, many)
    assert len(_findings(advisories)) >= 400


def test_the_findings_api_filters(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    client = login_client(Client(), advisories, "internal_tech")
    url = f"/api/v1/vulnerabilities/tenants/{advisories['tenant']}/findings"

    def refs(**filters: Any) -> set[str]:
        answer = client.get(url, {"device_id": advisories["device"], "status": "open", **filters})
        assert answer.status_code == 200, answer.content
        return {item["advisory_id"] for item in answer.json()["items"]}

    assert refs(q="CVE-2024-6387") == {"DSA-5724-1"}
    assert refs(cve="CVE-2024-6387") == {"DSA-5724-1"}
    assert refs(unfixed=True) == {"CVE-2023-51767"}
    assert refs(severity="critical") == {"DEBIAN-CVE-2024-5535"}
    assert refs(package="libssl3") == {"DEBIAN-CVE-2024-5535"}
    assert client.get(url, {"severity": "dire"}).status_code == 422
    item = client.get(url, {"q": "DSA-5724-1"}).json()["items"][0]
    assert item["binaries"] == ["openssh-client", "openssh-server"]
    assert item["advisory_url"] == "https://www.debian.org/security/2024/dsa-5724"
    assert item["unfixed"] is False and item["fixed_version"] == "1:9.2p1-2+deb12u3"
    assert [s["advisory"] for s in item["sources"]] == ["DSA-5724-1", "CVE-2024-6387"]
    finding_page = client.get(f"/vulnerabilities/findings/{item['id']}/").content.decode()
    assert "Reported by" in finding_page and "CVE-2024-6387 (debian-tracker)" in finding_page


def test_the_finding_page_accepts_a_risk_and_refuses_bad_input(advisories: World) -> None:
    _report(advisories, BOOKWORM)
    finding = _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")]
    client = login_client(Client(), advisories, "owner")
    page = f"/vulnerabilities/findings/{finding.pk}/"
    assert "Accept the risk" in client.get(page).content.decode()
    accept = f"/vulnerabilities/findings/{finding.pk}/accept-risk/"
    bad = client.post(accept, {"reason": "Internal only", "expires_on": "soon"}, follow=True)
    assert "not a date" in bad.content.decode()
    empty = client.post(accept, {"reason": " ", "expires_on": ""}, follow=True)
    assert "Say why" in empty.content.decode()
    assert _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")].status == "open"
    until = (timezone.now() + dt.timedelta(days=30)).date().isoformat()
    client.post(accept, {"reason": "No TLS server on this host", "expires_on": until})
    assert _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")].status == "risk_accepted"
    client.post(f"/vulnerabilities/findings/{finding.pk}/reopen/")
    assert _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")].status == "open"


def test_one_finding_per_cve_across_sources_keeps_the_highest_fix_and_a_persons_decision(
    advisories: World, tmp_path: Path
) -> None:
    # The tracker knows a later fix of CVE-2024-5535 than the OSV record: the finding asks
    # for the later one (it satisfies both sources).
    data = json.loads((DATA / "debian-tracker.json").read_text())
    data["openssl"]["CVE-2024-5535"]["releases"]["bookworm"]["fixed_version"] = "3.0.15-1~deb12u1"
    changed = tmp_path / "tracker.json"
    changed.write_text(json.dumps(data))
    assert _import(str(changed), "--format", "debian", "--release", "bookworm", "--no-match") == 0
    _report(advisories, BOOKWORM)
    openssl = _findings(advisories)[("DEBIAN-CVE-2024-5535", "openssl")]
    assert openssl.fixed_version == "3.0.15-1~deb12u1"

    # Two findings held apart from before the merge (as a database from before it has):
    # the next match keeps one, the one whose risk a person accepted, seen since the first.
    with system_context("test: a finding from before the merge"):
        device = Device.objects.get(pk=advisories["device"])
        older = Finding.objects.create(
            tenant_id=device.tenant_id,
            device=device,
            advisory_id=Advisory.objects.get(
                source="debian-tracker", advisory_id="CVE-2024-5535"
            ).pk,
            advisory_ref="CVE-2024-5535",
            source="debian-tracker",
            cve_ids=["CVE-2024-5535"],
            package="openssl",
            installed_version="3.0.11-1~deb12u2",
            fixed_version="3.0.15-1~deb12u1",
            severity="low",
            status="risk_accepted",
            risk_reason="Only used offline",
            risk_expires_at=timezone.now() + dt.timedelta(days=30),
            first_seen=openssl.first_seen - dt.timedelta(days=40),
            last_seen=openssl.last_seen,
        )
    services.match_device(actor=SYSTEM, device_id=advisories["device"])
    found = _findings(advisories)
    assert [key for key in found if key[1] == "openssl"] == [("CVE-2024-5535", "openssl")]
    kept = found[("CVE-2024-5535", "openssl")]
    assert kept.pk == older.pk and kept.status == "risk_accepted"
    assert kept.risk_reason == "Only used offline"
    assert kept.first_seen == older.first_seen and kept.severity == "critical"
    assert {s["advisory"] for s in kept.sources} == {"CVE-2024-5535", "DEBIAN-CVE-2024-5535"}
