"""RHEL, Fedora, Alma, Rocky: rpm for installed packages, dnf for pending and security updates.

``dnf check-update`` lists the pending updates and exits 100 when there are some (0 when
none, 1 on error). ``dnf updateinfo list --security`` tells the security ones apart: dnf4
prints ``<advisory> <Severity>/Sec. <NEVRA>``; dnf5 (where ``updateinfo`` is ``advisory
list``) prints columns Name, Type, Severity, Package, Issued. ``dnf needs-restarting -r``
exits 1 when a reboot is needed (domain.md §1.4), and also when the plugin is missing.
``check-update`` does not print the installed version, so the patch report takes it from
``rpm -qa``; the packages ``needs-restarting -r`` names (``  * kernel``) are the report's
reboot packages.

The parsers are tested on real output of rpm 4.18 and dnf 4.14 (agent/tests/data/
capture_rpm.sh records it on a private database); dnf5's on a hand-written sample.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tandem_agent.backends import linux
from tandem_agent.backends.base import (
    CommandResult,
    PatchReport,
    Runner,
    pending_state,
    run_command,
)

RPM_FORMAT = (
    "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{INSTALLTIME}\\n"
)
RPM_QUERY = ["rpm", "-qa", "--qf", RPM_FORMAT]
CHECK_UPDATE = ["dnf", "-q", "check-update"]
SECURITY_LIST = ["dnf", "-q", "updateinfo", "list", "--security"]
NEEDS_RESTARTING = ["dnf", "needs-restarting", "-r"]

_NO_ARCH = "(none)"


def source_name(source_rpm: str) -> str | None:
    """``openssl-3.0.7-24.el9.src.rpm`` → ``openssl`` (name-version-release.src.rpm)."""
    if not source_rpm or source_rpm == _NO_ARCH:
        return None
    stem = source_rpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else stem


def parse_rpm_query(text: str) -> list[dict[str, Any]]:
    """Installed packages from ``rpm -qa --qf RPM_FORMAT``.

    The id is ``name:arch``; where one name and arch is installed in several versions side
    by side (kernels, ``gpg-pubkey``), each one's id adds its version, whatever the order
    rpm lists them in.
    """
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 5:
            continue
        name, evr, arch, source_rpm, installed = fields[:5]
        epoch, _, version = evr.partition(":")
        rows.append(
            {
                "id": f"{name}:{arch}",
                "name": name,
                "version": version if epoch in ("", "0") else evr,
                "arch": arch,
                "source": source_name(source_rpm) or name,
                "installed_at": int(installed) if installed.strip().isdigit() else None,
            }
        )
    counts = Counter(row["id"] for row in rows)
    for row in rows:
        if counts[row["id"]] > 1:
            row["id"] = f"{row['id']}:{row['version']}"
    return list({row["id"]: row for row in rows}.values())


def split_nevra(nevra: str) -> dict[str, str]:
    """``openssl-1:3.0.7-16.el9_2.x86_64`` → name, version (with epoch when not 0), arch."""
    body, _, arch = nevra.rpartition(".")
    parts = body.rsplit("-", 2)
    if len(parts) != 3:
        return {"name": nevra, "version": "", "arch": ""}
    name, version, release = parts
    epoch, colon, plain = version.partition(":")
    if colon and epoch == "0":
        version = plain
    return {"name": name, "version": f"{version}-{release}", "arch": arch}


def parse_needs_restarting(text: str) -> list[str]:
    """The packages ``dnf needs-restarting -r`` names as needing a reboot (``  * name``)."""
    return [
        line.strip().removeprefix("* ").strip()
        for line in text.splitlines()
        if line.lstrip().startswith("* ")
    ]


def reboot_answer(result: CommandResult) -> tuple[bool | None, list[str]]:
    """Whether ``dnf needs-restarting -r`` says a reboot is needed, and for which packages.

    Exit 1 means "reboot needed" only when it says so: dnf without the plugin (no
    dnf-plugins-core) also exits 1, with "No such command" on stderr, and that is unknown.
    """
    if result.returncode == 0:
        return False, []
    packages = parse_needs_restarting(result.stdout)
    if result.returncode == 1 and (packages or "Reboot is required" in result.stdout):
        return True, packages
    return None, []


def parse_check_update(text: str) -> list[dict[str, Any]]:
    """Pending updates from ``dnf check-update``: ``name.arch  version  repository`` rows.

    Piped (as the agent runs it) dnf widens its name column to the longest name; on a terminal
    it wraps a long name onto its own line, the rest following on the next: both are read.
    An "Obsoleting Packages" part may follow: each package there replaces the installed ones
    indented under it (repository ``@System``), recorded as its ``replaces``. One that is
    already listed as an update of its own name is not repeated; one with a new name
    (``newtool`` obsoleting ``oldtool``) is a change ``dnf upgrade`` would make, so it is
    listed, with the packages it replaces, and no installed version (like a package new to
    the system in apt's listing).
    """
    updates: dict[str, dict[str, Any]] = {}
    tokens: list[str] = []
    obsoleting = False
    latest: dict[str, Any] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Obsoleting Packages"):
            obsoleting, tokens, latest = True, [], None
            continue
        if not stripped or stripped.startswith(("Last metadata expiration", "Security:")):
            tokens = []
            continue
        # In the obsoletes part an indented entry is an installed package being replaced; a
        # wrapped name's continuation is indented too, but follows a name on its own line.
        replaced = obsoleting and not tokens and line[:1].isspace()
        tokens.extend(stripped.split())
        if len(tokens) < 3:
            continue
        package, version, repository = tokens[:3]
        tokens = []
        name, dot, arch = package.rpartition(".")
        if not dot:
            continue
        if replaced:
            if latest is not None:
                latest.setdefault("replaces", []).append(f"{name}:{arch}")
            continue
        epoch, colon, plain = version.partition(":")
        update_id = f"{name}:{arch}"
        if obsoleting and update_id in updates:
            latest = updates[update_id]  # listed above already, as an update of its own name
            continue
        update: dict[str, Any] = {
            "id": update_id,
            "name": name,
            "arch": arch,
            "candidate_version": plain if colon and epoch == "0" else version,
            "repository": repository,
            # The server shows an update's origin; for dnf that is the repository.
            "origin": repository,
            "security": False,
            "advisories": [],
        }
        updates[update_id] = update
        latest = update if obsoleting else None
    return list(updates.values())


def parse_security_list(text: str) -> list[dict[str, str]]:
    """Security advisories from dnf4 ``updateinfo list --security`` or dnf5 ``advisory list``."""
    advisories = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0] in ("Name", "Last") or line.startswith("Last metadata"):
            continue
        if len(fields) >= 3 and fields[1].endswith("/Sec."):  # dnf4
            advisory, severity, nevra = fields[0], fields[1].removesuffix("/Sec."), fields[2]
        elif len(fields) >= 4 and fields[1] == "security":  # dnf5
            advisory, severity, nevra = fields[0], fields[2], fields[3]
        else:
            continue
        advisories.append({"advisory": advisory, "severity": severity, **split_nevra(nevra)})
    return advisories


def add_installed_versions(updates: list[dict[str, Any]], query: CommandResult) -> None:
    """Give each update the version installed now, which ``dnf check-update`` does not print.

    Taken from ``rpm -qa`` by name and arch; where several are installed side by side
    (install-only packages such as kernels) the one installed last. When rpm fails the
    updates are kept without it: the installed list is the inventory's business.
    """
    if query.returncode != 0:
        return
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for row in parse_rpm_query(query.stdout):
        key = (row["name"], row["arch"])
        stamp = (row["installed_at"] or 0, row["version"])
        if key not in latest or stamp >= latest[key]:
            latest[key] = stamp
    for update in updates:
        found = latest.get((update["name"], update["arch"]))
        if found is not None:
            update["installed_version"] = found[1]


def merge_security(
    updates: list[dict[str, Any]], advisories: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Mark each update named by a security advisory, with the advisories and worst severity."""
    order = ["none", "low", "moderate", "important", "critical"]
    by_package: dict[tuple[str, str], list[dict[str, str]]] = {}
    for advisory in advisories:
        by_package.setdefault((advisory["name"], advisory["arch"]), []).append(advisory)
    for update in updates:
        found = by_package.get((update["name"], update["arch"]), [])
        if not found:
            continue
        update["security"] = True
        update["advisories"] = sorted({a["advisory"] for a in found})
        severities = [a["severity"].lower() for a in found]
        update["severity"] = max(severities, key=lambda s: order.index(s) if s in order else -1)
    return updates


class RpmBackend:
    """Systems managed by rpm and dnf."""

    name = "rpm"

    def __init__(self, *, runner: Runner = run_command, root: Path = Path("/")) -> None:
        self.runner = runner
        self.root = root

    def installed_software(self) -> list[dict[str, Any]]:
        result = self.runner(RPM_QUERY)
        if result.returncode != 0:
            raise RuntimeError(f"rpm -qa failed: {result.stderr.strip()[:200]}")
        return parse_rpm_query(result.stdout)

    def patch_report(self) -> PatchReport:
        report = PatchReport()
        restart = self.runner(NEEDS_RESTARTING)
        report.reboot_required, report.reboot_packages = reboot_answer(restart)
        checked = self.runner(CHECK_UPDATE)
        if checked.returncode not in (0, 100):
            report.error = f"dnf check-update failed: {checked.stderr.strip()[:200]}"
            return report
        # dnf refreshes expired metadata before it answers, so a listing is never stale.
        report.lists_stale = False
        updates = parse_check_update(checked.stdout) if checked.returncode == 100 else []
        add_installed_versions(updates, self.runner(RPM_QUERY))
        security = self.runner(SECURITY_LIST)
        if security.returncode == 0:
            updates = merge_security(updates, parse_security_list(security.stdout))
        else:
            report.error = "dnf updateinfo gave no security information"
        report.updates = updates
        report.pending_state = pending_state(listed=True, count=len(updates), stale=False)
        return report

    def accounts(self) -> list[dict[str, Any]] | None:
        return linux.local_accounts(self.root)

    def security(self) -> dict[str, Any]:
        return linux.security_posture(self.runner)


def is_rpm_like(os_release: dict[str, str]) -> bool:
    ids = {os_release.get("ID", ""), *os_release.get("ID_LIKE", "").split()}
    return bool(ids & {"rhel", "fedora", "centos", "rocky", "almalinux", "suse", "amzn"})
