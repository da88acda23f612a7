"""Debian and Ubuntu: dpkg for installed packages, apt's simulation for pending updates.

Installed packages come from ``dpkg-query`` with the *source* package kept, because
advisories (Debian tracker, OSV, USN) name source packages. Pending updates come from
``apt-get -s dist-upgrade`` (the ``apt`` command warns that its output is not stable for
scripts); a candidate is a security update when one of its origins is ``Debian-Security``,
``UbuntuESM`` or ``UbuntuESMApps``, or its suite ends in ``-security`` (domain.md §1.4).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from tandem_agent.backends import linux
from tandem_agent.backends.base import (
    OFF,
    ON,
    CommandResult,
    PatchReport,
    Runner,
    pending_state,
    posture,
    run_command,
)

DPKG_FORMAT = "${Package}\\t${Source}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n"
DPKG_QUERY = ["dpkg-query", "-W", f"-f={DPKG_FORMAT}"]
APT_SIMULATE = ["apt-get", "-s", "-q", "dist-upgrade"]

SECURITY_LABELS = frozenset({"Debian-Security", "UbuntuESM", "UbuntuESMApps"})

#: Package lists older than this are stale: "nothing pending" from them is unknown.
STALE_AFTER_SECONDS = 7 * 24 * 3600

_PERIODIC = re.compile(r'^\s*APT::Periodic::Unattended-Upgrade\s+"(\d+)"\s*;', re.MULTILINE)
_INST = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) (.*?) ?\[([^\]]+)\]\)")
_SOURCE = re.compile(r"^(\S+)(?: \((\S+)\))?$")


def parse_dpkg_query(text: str) -> list[dict[str, Any]]:
    """Installed packages from ``dpkg-query -W -f=DPKG_FORMAT``.

    Rows whose status says the package is not installed (``n``) or only its configuration
    files remain (``c``, "rc" in ``dpkg -l``) are left out. An empty source means the source
    name is the binary name; ``name (version)`` gives a source version that differs.
    """
    packages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 5:
            continue
        name, source_field, version, arch, status = fields[:5]
        if len(status) < 2 or status[1] in "nc":
            continue
        source, source_version = name, version
        match = _SOURCE.match(source_field.strip())
        if match:
            source = match.group(1)
            source_version = match.group(2) or version
        packages.append(
            {
                "id": f"{name}:{arch}",
                "name": name,
                "version": version,
                "arch": arch,
                "source": source,
                "source_version": source_version,
                "status": status.strip(),
            }
        )
    return packages


def parse_origins(text: str) -> list[dict[str, str]]:
    """``Debian:12.15/oldstable, Debian-Security:12/oldstable-security`` as label/version/suite."""
    origins = []
    for part in text.split(", "):
        part = part.strip()
        if not part:
            continue
        label, _, rest = part.partition(":")
        version, slash, suite = rest.rpartition("/")
        if not slash:
            version, suite = rest, ""
        origins.append({"label": label, "version": version, "suite": suite})
    return origins


def is_security(origins: list[dict[str, str]]) -> bool:
    return any(o["label"] in SECURITY_LABELS or o["suite"].endswith("-security") for o in origins)


def parse_apt_simulation(text: str) -> list[dict[str, Any]]:
    """Pending updates from ``apt-get -s dist-upgrade``: one per ``Inst`` line.

    ``Inst libssl3 [3.0.14-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security
    [amd64])``; a package new to the system has no ``[installed]`` part.
    """
    updates = []
    for line in text.splitlines():
        match = _INST.match(line)
        if not match:
            continue
        name, installed, candidate, origin_text, arch = match.groups()
        name = name.split(":", 1)[0]
        origins = parse_origins(origin_text)
        updates.append(
            {
                "id": f"{name}:{arch}",
                "name": name,
                "arch": arch,
                "installed_version": installed,
                "candidate_version": candidate,
                "security": is_security(origins),
                "origins": origins,
            }
        )
    return _unique(updates)


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """apt prints one Inst per package; keep the last should a name ever repeat."""
    return list({item["id"]: item for item in items}.values())


def lists_refreshed_at(root: Path = Path("/")) -> int | None:
    """When apt last refreshed its lists: the periodic stamp, else the lists folder."""
    for candidate in (
        root / "var/lib/apt/periodic/update-success-stamp",
        root / "var/lib/apt/lists",
    ):
        try:
            return int(candidate.stat().st_mtime)
        except OSError:
            continue
    return None


def automatic_updates(root: Path = Path("/")) -> dict[str, str]:
    """Whether unattended-upgrades runs: ``APT::Periodic::Unattended-Upgrade "1";``.

    Evidence for CIS 7.3 (automated patch management). apt reads ``apt.conf.d`` in name
    order and the last setting wins, as here.
    """
    conf = root / "etc/apt/apt.conf.d"
    value = None
    try:
        files = sorted(p for p in conf.iterdir() if p.is_file())
    except OSError:
        files = []
    for path in files:
        try:
            found = _PERIODIC.findall(path.read_text(errors="replace"))
        except OSError:
            continue
        if found:
            value = found[-1]
    installed = (root / "usr/bin/unattended-upgrade").exists()
    if value is None:
        return posture(OFF, "APT::Periodic::Unattended-Upgrade is not set")
    if value != "0" and installed:
        return posture(ON, f"unattended-upgrades every {value} day(s)")
    if value != "0":
        return posture(OFF, "enabled in apt.conf.d but unattended-upgrades is not installed")
    return posture(OFF, "APT::Periodic::Unattended-Upgrade is 0")


def reboot_required(root: Path = Path("/")) -> tuple[bool, list[str]]:
    """``/var/run/reboot-required`` (and the packages in ``.pkgs``), written by postinsts."""
    flag = root / "var/run/reboot-required"
    if not flag.exists():
        return False, []
    try:
        names = (root / "var/run/reboot-required.pkgs").read_text().split()
    except OSError:
        names = []
    return True, sorted(set(names))


#: apt-get never asks: a changed configuration file keeps the local version (the default
#: action, else the old file), so a job never hangs on a prompt nobody sees. It waits up to
#: five minutes for the dpkg lock (unattended-upgrades or a person's apt may hold it for a
#: while, at boot especially) instead of failing the job at once; apt older than 1.9.11
#: ignores the option and fails as before.
APT_LOCK_WAIT_SECONDS = 300
APT_NONINTERACTIVE = [
    "-y",
    "-q",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
    "-o",
    f"DPkg::Lock::Timeout={APT_LOCK_WAIT_SECONDS}",
]


def upgrade_command(packages: list[str]) -> list[str]:
    """The apt-get command that upgrades exactly ``packages`` (installed ones only:
    ``--only-upgrade`` never installs a package that is not there)."""
    return ["apt-get", "install", "--only-upgrade", *APT_NONINTERACTIVE, "--", *packages]


#: Every pending update, as the inventory lists them (``apt-get -s dist-upgrade``).
UPGRADE_ALL = ["apt-get", "dist-upgrade", *APT_NONINTERACTIVE]
#: Refresh the package lists before installing (``TANDEM_AGENT_APT_UPDATE=1``). Off by
#: default: the lists the approval was based on are the machine's own (refreshed by its
#: apt timer or unattended-upgrades); on, an install job takes the newest version the
#: sources offer, which may be newer than the one approved.
REFRESH_LISTS = ["apt-get", "update", "-q"]
REFRESH_ENV = "TANDEM_AGENT_APT_UPDATE"
#: The last line of an install's output when the system asks for a reboot afterwards (the
#: server's patching reads it to follow its reboot policy).
REBOOT_REQUIRED_MARK = "[tandem: reboot required]"


def refresh_configured() -> bool:
    """Whether ``TANDEM_AGENT_APT_UPDATE`` asks for ``apt-get update`` before installing."""
    return os.environ.get(REFRESH_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class DebianBackend:
    """Debian, Ubuntu and their derivatives."""

    name = "debian"

    def __init__(self, *, runner: Runner = run_command, root: Path = Path("/")) -> None:
        self.runner = runner
        self.root = root

    def installed_software(self) -> list[dict[str, Any]]:
        result = self.runner(DPKG_QUERY)
        if result.returncode != 0:
            raise RuntimeError(f"dpkg-query failed: {result.stderr.strip()[:200]}")
        return parse_dpkg_query(result.stdout)

    def patch_report(self) -> PatchReport:
        refreshed = lists_refreshed_at(self.root)
        stale = None if refreshed is None else time.time() - refreshed > STALE_AFTER_SECONDS
        needed, packages = reboot_required(self.root)
        result = self.runner(APT_SIMULATE)
        report = PatchReport(
            reboot_required=needed,
            reboot_packages=packages,
            lists_refreshed_at=refreshed,
            lists_stale=stale,
            automatic_updates=automatic_updates(self.root),
        )
        if result.returncode != 0:
            report.error = f"apt-get -s dist-upgrade failed: {result.stderr.strip()[:200]}"
            return report
        report.updates = parse_apt_simulation(result.stdout)
        report.pending_state = pending_state(listed=True, count=len(report.updates), stale=stale)
        return report

    def accounts(self) -> list[dict[str, Any]] | None:
        return linux.local_accounts(self.root)

    def install_updates_commands(self, packages: list[str] | str) -> list[list[str]]:
        """The commands a job's ``packages`` becomes: the named packages upgraded; ``all``
        every pending update; ``security`` the pending updates from security origins (as the
        inventory tells them apart), upgraded by name. An empty list: nothing to do. With
        ``TANDEM_AGENT_APT_UPDATE`` set, ``apt-get update`` comes first. Every command runs
        with the agent's environment, so ``APT_CONFIG`` (another apt configuration) holds
        for all of them."""
        refresh = [REFRESH_LISTS] if refresh_configured() else []
        return refresh + self._upgrade_commands(packages)

    def _upgrade_commands(self, packages: list[str] | str) -> list[list[str]]:
        if packages == "all":
            return [UPGRADE_ALL]
        if packages == "security":
            report = self.patch_report()
            if report.error:
                raise RuntimeError(report.error)
            names = sorted({u["name"] for u in report.updates if u.get("security")})
            return [upgrade_command(names)] if names else []
        return [upgrade_command(sorted(set(packages)))]

    def install_updates(self, packages: list[str] | str, *, timeout: float) -> CommandResult:
        """Run :meth:`install_updates_commands`, stopping at the first that fails; the
        result's output is every command's, in order."""
        # The real runner takes the job's timeout; a test's recorded runner takes none.
        run: Runner = (
            (lambda command: run_command(command, timeout=timeout))
            if self.runner is run_command
            else self.runner
        )
        output: list[str] = []
        commands = self.install_updates_commands(packages)
        for command in commands:
            output.append("$ " + " ".join(command))
            result = run(command)
            output += [result.stdout, result.stderr]
            if result.returncode != 0:
                return CommandResult(result.returncode, "\n".join(o for o in output if o))
        if not commands or commands == [REFRESH_LISTS]:
            output.append("no security update pending")
        if reboot_required(self.root)[0]:
            output.append(REBOOT_REQUIRED_MARK)
        return CommandResult(0, "\n".join(o for o in output if o))

    def security(self) -> dict[str, Any]:
        return linux.security_posture(self.runner)


def is_debian_like(os_release: dict[str, str]) -> bool:
    ids = {os_release.get("ID", ""), *os_release.get("ID_LIKE", "").split()}
    return bool(ids & {"debian", "ubuntu"})
