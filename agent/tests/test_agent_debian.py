"""The Debian/Ubuntu backend: parsers on recorded outputs, then for real on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent_support import RecordedRunner, machine_packages_unchanged, recorded
from tandem_agent.backends import choose_backend
from tandem_agent.backends.base import CommandResult
from tandem_agent.backends.debian import (
    APT_SIMULATE,
    DPKG_QUERY,
    DebianBackend,
    automatic_updates,
    parse_apt_simulation,
    parse_dpkg_query,
)


def test_dpkg_rows_keep_the_source_package_and_its_version():
    packages = {p["id"]: p for p in parse_dpkg_query(recorded("dpkg-query-debian12.txt"))}
    assert len(packages) == len(recorded("dpkg-query-debian12.txt").splitlines())
    bsdutils = packages["bsdutils:amd64"]
    assert (bsdutils["source"], bsdutils["source_version"]) == ("util-linux", "2.38.1-5+deb12u3")
    assert bsdutils["version"] == "1:2.38.1-5+deb12u3"
    bash = packages["bash:amd64"]
    assert (bash["source"], bash["source_version"], bash["version"]) == (
        "bash",
        "5.2.15-2",
        "5.2.15-2+b8",
    )


def test_a_package_without_source_field_is_its_own_source_and_removed_ones_are_left_out():
    text = (
        "adduser\t\t3.134\tall\tii \n"
        "oldpkg\t\t1.0\tamd64\trc \n"
        "libc6\tglibc\t2.36-9\tamd64\tii \n"
        "libc6\tglibc\t2.36-9\ti386\tii \n"
    )
    packages = parse_dpkg_query(text)
    assert [p["id"] for p in packages] == ["adduser:all", "libc6:amd64", "libc6:i386"]
    assert packages[0]["source"] == "adduser"
    assert packages[1]["source"] == "glibc"


def test_debian_security_updates_are_told_apart_by_origin():
    updates = {
        u["id"]: u for u in parse_apt_simulation(recorded("apt-get-s-dist-upgrade-debian12.txt"))
    }
    assert len(updates) == 12
    assert updates["bash:amd64"]["security"] is False
    assert updates["bash:amd64"]["installed_version"] == "5.2.15-2+b8"
    assert updates["bash:amd64"]["candidate_version"] == "5.2.15-2+b13"
    # Listed in both the point release and the security suite: security.
    assert updates["libgcrypt20:amd64"]["security"] is True
    assert [o["label"] for o in updates["libgcrypt20:amd64"]["origins"]] == [
        "Debian",
        "Debian-Security",
    ]
    assert updates["zlib1g:amd64"]["candidate_version"] == "1:1.2.13.dfsg-1+deb12u1"
    assert updates["dpkg:amd64"]["security"] is False
    assert sum(u["security"] for u in updates.values()) == 8


def test_ubuntu_security_and_esm_suites_count_as_security():
    updates = {
        u["id"]: u for u in parse_apt_simulation(recorded("apt-get-s-dist-upgrade-ubuntu2204.txt"))
    }
    assert len(updates) == 8
    assert updates["openssl:amd64"]["security"] is True
    assert updates["snapd:amd64"]["security"] is False
    assert updates["tzdata:all"]["security"] is False
    assert updates["python3-pil:amd64"]["security"] is True  # UbuntuESMApps, jammy-apps-security
    assert updates["libexpat1:i386"]["security"] is True  # UbuntuESM, jammy-infra-security
    new_kernel = updates["linux-image-5.15.0-119-generic:amd64"]
    assert new_kernel["installed_version"] is None
    assert new_kernel["candidate_version"] == "5.15.0-119.129"


def _fake_root(tmp_path: Path, *, reboot: bool, lists_age_days: float) -> Path:
    lists = tmp_path / "var/lib/apt/lists"
    lists.mkdir(parents=True)
    stamp = time.time() - lists_age_days * 86400
    os.utime(lists, (stamp, stamp))
    if reboot:
        (tmp_path / "var/run").mkdir(parents=True)
        (tmp_path / "var/run/reboot-required").write_text("*** System restart required ***\n")
        (tmp_path / "var/run/reboot-required.pkgs").write_text(
            "linux-image-6.1.0-21-amd64\nlibc6\n"
        )
    return tmp_path


def test_reboot_required_file_and_its_packages(tmp_path):
    runner = RecordedRunner({tuple(APT_SIMULATE): CommandResult(0, "")})
    report = DebianBackend(
        runner=runner, root=_fake_root(tmp_path, reboot=True, lists_age_days=0)
    ).patch_report()
    assert report.reboot_required is True
    assert report.reboot_packages == ["libc6", "linux-image-6.1.0-21-amd64"]
    assert report.pending_state == "current"


def test_stale_lists_with_nothing_pending_are_unknown_not_current(tmp_path):
    runner = RecordedRunner({tuple(APT_SIMULATE): CommandResult(0, "")})
    report = DebianBackend(
        runner=runner, root=_fake_root(tmp_path, reboot=False, lists_age_days=30)
    ).patch_report()
    assert report.lists_stale is True
    assert report.pending_state == "unknown"
    assert report.status()["pending_count"] == 0


def test_stale_lists_with_updates_found_are_still_pending(tmp_path):
    runner = RecordedRunner(
        {tuple(APT_SIMULATE): CommandResult(0, recorded("apt-get-s-dist-upgrade-debian12.txt"))}
    )
    report = DebianBackend(
        runner=runner, root=_fake_root(tmp_path, reboot=False, lists_age_days=30)
    ).patch_report()
    assert report.pending_state == "pending"
    assert report.status()["security_count"] == 8


def test_a_failing_apt_is_reported_and_unknown(tmp_path):
    runner = RecordedRunner({tuple(APT_SIMULATE): CommandResult(100, "", "E: Could not get lock")})
    report = DebianBackend(
        runner=runner, root=_fake_root(tmp_path, reboot=False, lists_age_days=0)
    ).patch_report()
    assert report.pending_state == "unknown"
    assert "Could not get lock" in report.error


# On this machine, for real ----------------------------------------------------------------

# Skipped only where dpkg does not exist (a developer's Mac, say): these tests read the real
# package database. CI runs on Debian, where dpkg-query is always present, so there they run.
needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system")


@needs_dpkg
def test_this_machine_chooses_the_debian_backend():
    assert choose_backend().name == "debian"


@needs_dpkg
def test_installed_count_equals_what_dpkg_query_reports():
    with machine_packages_unchanged():
        raw = subprocess.run(DPKG_QUERY, capture_output=True, text=True, check=True).stdout
        software = DebianBackend().installed_software()
    installed = [line for line in raw.splitlines() if line.split("\t")[4][1] not in "nc"]
    assert len(software) == len(installed) > 100
    assert {p["id"] for p in software} == {
        f"{row.split(chr(9))[0]}:{row.split(chr(9))[3]}" for row in installed
    }


@needs_dpkg
def test_pending_count_equals_the_inst_lines_of_apt_get_simulate():
    raw = subprocess.run(
        ["apt-get", "-s", "dist-upgrade"],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    ).stdout
    inst_lines = [line for line in raw.splitlines() if line.startswith("Inst ")]
    report = DebianBackend().patch_report()
    assert report.error is None
    assert len(report.updates) == len(inst_lines)
    security_lines = [
        line
        for line in inst_lines
        if "Debian-Security:" in line or "-security " in line or "-security," in line
    ]
    assert report.status()["security_count"] == len(security_lines)


def test_automatic_updates_from_apt_conf_d_last_setting_wins(tmp_path):
    conf = tmp_path / "etc/apt/apt.conf.d"
    conf.mkdir(parents=True)
    assert automatic_updates(tmp_path)["state"] == "off"
    (conf / "20auto-upgrades").write_text(
        'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
    )
    assert automatic_updates(tmp_path)["detail"].endswith("not installed")
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/unattended-upgrade").write_text("")
    assert automatic_updates(tmp_path) == {
        "state": "on",
        "detail": "unattended-upgrades every 1 day(s)",
    }
    (conf / "99local").write_text('APT::Periodic::Unattended-Upgrade "0";\n')
    assert automatic_updates(tmp_path)["state"] == "off"
