"""RPM, Windows and macOS backends on recorded outputs (data/README.md says where from)."""

from __future__ import annotations

from agent_support import RecordedRunner, recorded
from tandem_agent.backends import (
    DebianBackend,
    MacOSBackend,
    RpmBackend,
    UnknownBackend,
    WindowsBackend,
    choose_backend,
)
from tandem_agent.backends.base import CommandResult
from tandem_agent.backends.macos import parse_pkg_info, parse_softwareupdate
from tandem_agent.backends.rpm import (
    CHECK_UPDATE,
    NEEDS_RESTARTING,
    RPM_QUERY,
    SECURITY_LIST,
    parse_check_update,
    parse_needs_restarting,
    parse_rpm_query,
    parse_security_list,
    reboot_answer,
    source_name,
    split_nevra,
)
from tandem_agent.backends.windows import (
    parse_reboot_keys,
    parse_uninstall_keys,
    parse_wua_updates,
)

# RPM ---------------------------------------------------------------------------------------


def test_rpm_rows_keep_source_epoch_multilib_and_side_by_side_kernels():
    # rpm-qa-recorded.txt: rpm 4.18 on a private database (capture_rpm.sh), 12 rows.
    packages = {p["id"]: p for p in parse_rpm_query(recorded("rpm-qa-recorded.txt"))}
    assert len(packages) == 12
    # A subpackage's source is its source rpm's name, not its own.
    assert packages["tandem-hello-doc:x86_64"]["source"] == "tandem-hello"
    assert packages["tandem-hello:x86_64"]["version"] == "1.0-1"
    # Epoch 0 is left out, any other epoch kept.
    assert packages["tandem-epochal:x86_64"]["version"] == "2:3.0-1"
    assert packages["tandem-tzdata:noarch"]["arch"] == "noarch"
    assert {"tandem-libfoo:x86_64", "tandem-libfoo:i686"} <= packages.keys()
    kernels = sorted(
        (p for p in packages.values() if p["name"] == "tandem-kernel-core"),
        key=lambda p: p["installed_at"],
    )
    assert [(k["id"], k["version"]) for k in kernels] == [
        ("tandem-kernel-core:x86_64:6.1.0-1", "6.1.0-1"),
        ("tandem-kernel-core:x86_64:6.1.0-2", "6.1.0-2"),
    ]
    # An imported signing key: no arch and no source rpm ("(none)"), so its own name.
    (key,) = [p for p in packages.values() if p["name"] == "gpg-pubkey"]
    assert (key["arch"], key["source"]) == ("(none)", "gpg-pubkey")
    assert all(isinstance(p["installed_at"], int) for p in packages.values())
    assert source_name("(none)") is None


def test_dnf_check_update_piped_and_on_a_terminal_and_the_obsoletes():
    piped = parse_check_update(recorded("dnf-check-update-recorded.txt"))
    # On a terminal the long name wraps onto a line of its own; the updates are the same.
    assert parse_check_update(recorded("dnf-check-update-terminal-recorded.txt")) == piped
    updates = {u["id"]: u for u in piped}
    long_name = "tandem-python3-cryptography-with-a-name-long-enough-to-wrap-dnfs-column"
    assert sorted(updates) == [
        "tandem-epochal:x86_64",
        "tandem-hello-doc:x86_64",
        "tandem-hello:x86_64",
        "tandem-kernel-core:x86_64",
        "tandem-libfoo:i686",
        "tandem-libfoo:x86_64",
        "tandem-newtool:noarch",
        f"{long_name}:x86_64",
        "tandem-tzdata:noarch",
    ]
    assert updates["tandem-epochal:x86_64"]["candidate_version"] == "2:3.0-2"
    assert updates[f"{long_name}:x86_64"]["origin"] == "tandem-extra"
    assert updates["tandem-tzdata:noarch"]["repository"] == "tandem-base"
    # From the "Obsoleting Packages" part: a new name replacing an installed package.
    assert updates["tandem-newtool:noarch"]["replaces"] == ["tandem-oldtool:noarch"]
    assert "tandem-oldtool:noarch" not in updates
    # And an update of its own name that also replaces another package: listed once.
    assert updates["tandem-hello:x86_64"]["replaces"] == ["tandem-hello-legacy:noarch"]
    assert [u["id"] for u in piped].count("tandem-hello:x86_64") == 1


def test_dnf4_and_dnf5_security_lists():
    dnf4 = parse_security_list(recorded("dnf4-updateinfo-list-security-recorded.txt"))
    assert dnf4[0] == {
        "advisory": "TANDEM-2026:0102",
        "severity": "Important",
        "name": "tandem-epochal",
        "version": "2:3.0-2",
        "arch": "x86_64",
    }
    assert [(a["advisory"], a["severity"]) for a in dnf4 if a["name"] == "tandem-kernel-core"] == [
        ("TANDEM-2026:0103", "Critical"),
        ("TANDEM-2026:0104", "Low"),
    ]
    assert {a["arch"] for a in dnf4 if a["name"] == "tandem-libfoo"} == {"i686", "x86_64"}
    # The bugfix advisory for tandem-tzdata is not a security one.
    assert len(dnf4) == 7
    dnf5 = parse_security_list(recorded("dnf5-advisory-list-security-fedora40.txt"))
    assert [(a["advisory"], a["name"], a["severity"]) for a in dnf5] == [
        ("FEDORA-2024-5b1a3c4d2e", "openssl", "Important"),
        ("FEDORA-2024-0f9e8d7c6b", "curl", "Moderate"),
        ("FEDORA-2024-0f9e8d7c6b", "libcurl", "Moderate"),
    ]
    assert split_nevra("glibc-2.28-26.fc29.x86_64")["version"] == "2.28-26.fc29"


def recorded_rpm_system(*, rpm_works: bool = True) -> RecordedRunner:
    """The private rpm database and repositories capture_rpm.sh recorded, as one machine."""
    return RecordedRunner(
        {
            tuple(RPM_QUERY): CommandResult(0, recorded("rpm-qa-recorded.txt"))
            if rpm_works
            else CommandResult(1, "", "error: cannot open Packages database"),
            tuple(CHECK_UPDATE): CommandResult(100, recorded("dnf-check-update-recorded.txt")),
            tuple(SECURITY_LIST): CommandResult(
                0, recorded("dnf4-updateinfo-list-security-recorded.txt")
            ),
            tuple(NEEDS_RESTARTING): CommandResult(
                1, recorded("dnf-needs-restarting-r-reboot-recorded.txt")
            ),
        }
    )


def test_rpm_backend_marks_security_updates_with_the_worst_severity():
    backend = RpmBackend(runner=recorded_rpm_system())
    assert len(backend.installed_software()) == 12
    report = backend.patch_report()
    updates = {u["id"]: u for u in report.updates}
    assert report.pending_state == "pending"
    assert report.reboot_required is True
    assert report.status()["reboot_packages"] == ["tandem-kernel-core"]
    kernel = updates["tandem-kernel-core:x86_64"]
    assert kernel["severity"] == "critical"
    assert kernel["advisories"] == ["TANDEM-2026:0103", "TANDEM-2026:0104"]
    assert updates["tandem-epochal:x86_64"]["severity"] == "important"
    assert updates["tandem-libfoo:i686"]["security"] is True
    assert updates["tandem-tzdata:noarch"]["security"] is False
    assert updates["tandem-newtool:noarch"]["security"] is False
    # hello, hello-doc, epochal, kernel-core, libfoo twice.
    assert report.status()["security_count"] == 6


def test_rpm_updates_carry_the_installed_version_from_rpm():
    updates = {u["id"]: u for u in RpmBackend(runner=recorded_rpm_system()).patch_report().updates}
    assert updates["tandem-hello:x86_64"]["installed_version"] == "1.0-1"
    assert updates["tandem-epochal:x86_64"]["installed_version"] == "2:3.0-1"
    assert updates["tandem-libfoo:i686"]["installed_version"] == "1.0-1"
    # Two kernels installed side by side: the one installed last.
    assert updates["tandem-kernel-core:x86_64"]["installed_version"] == "6.1.0-2"
    # A package new to the system has none.
    assert "installed_version" not in updates["tandem-newtool:noarch"]
    # When rpm fails the updates are still reported, without installed versions.
    failed = RpmBackend(runner=recorded_rpm_system(rpm_works=False)).patch_report()
    assert failed.pending_state == "pending"
    assert len(failed.updates) == 9
    assert not any("installed_version" in u for u in failed.updates)


def test_needs_restarting_names_the_reboot_packages():
    assert parse_needs_restarting(recorded("dnf-needs-restarting-r-reboot-recorded.txt")) == [
        "tandem-kernel-core"
    ]
    assert parse_needs_restarting(recorded("dnf-needs-restarting-r-none-recorded.txt")) == []


def test_needs_restarting_without_the_plugin_is_unknown_not_a_reboot():
    # dnf exits 1 both when a reboot is needed and when needs-restarting is not installed.
    missing = CommandResult(1, "", recorded("dnf-needs-restarting-r-no-plugin-recorded.stderr.txt"))
    assert "No such command" in missing.stderr
    assert reboot_answer(missing) == (None, [])
    reboot = CommandResult(1, recorded("dnf-needs-restarting-r-reboot-recorded.txt"))
    assert reboot_answer(reboot) == (True, ["tandem-kernel-core"])


def test_dnf_check_update_exit_0_is_current_and_exit_1_is_unknown():
    def backend(code: int) -> RpmBackend:
        return RpmBackend(
            runner=RecordedRunner(
                {
                    tuple(CHECK_UPDATE): CommandResult(
                        code, "", "Error: repo down" if code else ""
                    ),
                    tuple(SECURITY_LIST): CommandResult(0, ""),
                    tuple(NEEDS_RESTARTING): CommandResult(
                        0, recorded("dnf-needs-restarting-r-none-recorded.txt")
                    ),
                }
            )
        )

    current = backend(0).patch_report()
    assert (current.pending_state, current.reboot_required) == ("current", False)
    assert current.reboot_packages == []
    failed = backend(1).patch_report()
    assert failed.pending_state == "unknown"
    assert "repo down" in failed.error


# Windows -----------------------------------------------------------------------------------


def test_uninstall_keys_of_both_views_and_the_user_hive_are_distinct_items():
    programs = {p["id"]: p for p in parse_uninstall_keys(recorded("windows-uninstall-keys.json"))}
    assert sorted(programs) == [
        "HKCU:Teams",
        "HKLM32:7-Zip",
        "HKLM32:{AC76BA86-7AD7-1033-7B44-AC0F074E4100}",
        "HKLM:7-Zip",
        "HKLM:{90160000-008C-0000-1000-0000000FF1CE}",
    ]
    assert programs["HKLM:7-Zip"]["version"] == "23.01"
    assert programs["HKLM32:7-Zip"]["version"] == "19.00"
    assert programs["HKLM:{90160000-008C-0000-1000-0000000FF1CE}"]["system_component"] is True
    single = parse_uninstall_keys(recorded("windows-uninstall-keys-single.json"))
    assert [p["name"] for p in single] == ["Git"]


def test_wua_updates_security_by_classification_or_severity():
    updates = parse_wua_updates(recorded("windows-wua-search.json"))
    assert [(u["name"], u["security"], u["severity"]) for u in updates] == [
        ("KB5039212", True, "critical"),
        ("KB2267602", False, None),
        ("KB5039895", False, None),
    ]
    assert updates[0]["cves"] == ["CVE-2024-30080", "CVE-2024-30078"]
    assert updates[0]["id"] == "0d1c4b3e-6a7f-4c2b-9b1e-5f0a2d3c4e5f:1"


def test_windows_reboot_keys_and_backend():
    assert parse_reboot_keys(recorded("windows-reboot-keys.json")) == (
        True,
        ["PendingFileRenameOperations", "WindowsUpdate"],
    )
    scripts = iter([recorded("windows-reboot-keys.json"), recorded("windows-wua-search.json")])
    backend = WindowsBackend(runner=lambda args: CommandResult(0, next(scripts)))
    report = backend.patch_report()
    assert (report.pending_state, report.reboot_required, len(report.updates)) == (
        "pending",
        True,
        3,
    )


# macOS -------------------------------------------------------------------------------------


def test_softwareupdate_reads_every_entry_with_its_own_version():
    updates = parse_softwareupdate(recorded("macos-softwareupdate-list.txt"))
    assert [(u["label"], u["candidate_version"]) for u in updates] == [
        ("Safari17.6VenturaAuto-17.6", "17.6"),
        ("macOS Ventura 13.6.8-22G820", "13.6.8"),
        ("macOS Sonoma 14.6-23G80", "14.6"),
        ("macOS Ventura 13.6.7 (a)-22G720a", "13.6.7 (a)"),
    ]
    assert [u["restart"] for u in updates] == [False, True, True, True]
    assert [u["recommended"] for u in updates] == [True, True, False, True]
    assert [u["security"] for u in updates] == [False, False, False, True]
    assert updates[1]["size_kib"] == 1125640


def test_softwareupdate_with_nothing_new_is_current():
    backend = MacOSBackend(
        runner=RecordedRunner(
            {
                ("softwareupdate",): CommandResult(
                    0,
                    recorded("macos-softwareupdate-none.stdout.txt"),
                    recorded("macos-softwareupdate-none.stderr.txt"),
                )
            }
        )
    )
    report = backend.patch_report()
    assert (report.pending_state, report.updates) == ("current", [])


def test_pkgutil_receipts():
    info = parse_pkg_info(recorded("macos-pkg-info-word.txt"))
    assert info == {
        "id": "com.microsoft.Word",
        "name": "com.microsoft.Word",
        "version": "16.86.24060916",
        "volume": "/",
        "installed_at": 1718350000,
    }
    runner = RecordedRunner(
        {
            ("pkgutil", "--pkgs"): CommandResult(0, recorded("macos-pkgutil-pkgs.txt")),
            ("pkgutil", "--pkg-info"): CommandResult(0, recorded("macos-pkg-info-word.txt")),
        }
    )
    software = MacOSBackend(runner=runner).installed_software()
    assert len(runner.ran) == 6  # the list, then one --pkg-info per receipt
    assert len(software) == 5


# Choice ------------------------------------------------------------------------------------


def test_the_backend_is_chosen_by_platform_then_os_release():
    assert isinstance(choose_backend(system="win32"), WindowsBackend)
    assert isinstance(choose_backend(system="darwin"), MacOSBackend)
    ubuntu = {"ID": "ubuntu", "ID_LIKE": "debian"}
    assert isinstance(choose_backend(system="linux", release=ubuntu), DebianBackend)
    alma = {"ID": "almalinux", "ID_LIKE": "rhel centos fedora"}
    assert isinstance(choose_backend(system="linux", release=alma), RpmBackend)
    assert UnknownBackend().patch_report().pending_state == "unknown"
