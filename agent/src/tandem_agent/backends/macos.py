"""macOS: pkgutil receipts for installed software, ``softwareupdate --list`` for updates.

``softwareupdate --list`` prints each update as two lines, ``* Label: …`` then
``\\tTitle: …, Version: …, Size: …KiB, Recommended: YES, Action: restart,``; there can be
several (macOS, Safari, a Rapid Security Response with an "(a)" suffix), so every entry is
read with its own fields: taking the first ``Version:`` of the output is a known bug of
public code (domain.md §1.4). "No new software available." means none.
"""

from __future__ import annotations

import re
from typing import Any

from tandem_agent.backends.base import (
    PatchReport,
    Runner,
    pending_state,
    run_command,
    unknown_security,
)

PKGS = ["pkgutil", "--pkgs"]
SOFTWAREUPDATE = ["softwareupdate", "--list", "--all"]

_FIELD = re.compile(r"(Title|Version|Size|Recommended|Action):\s*([^,]*)")


def parse_pkgutil_pkgs(text: str) -> list[str]:
    return sorted({line.strip() for line in text.splitlines() if line.strip()})


def parse_pkg_info(text: str) -> dict[str, Any]:
    """``pkgutil --pkg-info ID``: ``package-id:``, ``version:``, ``install-time:`` lines."""
    fields = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            fields[key.strip()] = value.strip()
    installed = fields.get("install-time", "")
    package_id = fields.get("package-id", "")
    return {
        "id": package_id,
        "name": package_id,
        "version": fields.get("version", ""),
        "volume": fields.get("volume", ""),
        "installed_at": int(installed) if installed.isdigit() else None,
    }


def parse_softwareupdate(text: str) -> list[dict[str, Any]]:
    """Every entry of ``softwareupdate --list``, each with its own title and version."""
    updates = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("* Label:"):
            label = stripped.removeprefix("* Label:").strip()
            current = {"id": label, "name": label, "label": label}
            updates.append(current)
            continue
        if current is None or not stripped.startswith("Title:"):
            continue
        fields = {key: value.strip() for key, value in _FIELD.findall(stripped)}
        size = fields.get("Size", "").removesuffix("KiB").removesuffix("K")
        current.update(
            {
                "title": fields.get("Title", ""),
                "candidate_version": fields.get("Version", ""),
                "size_kib": int(size) if size.isdigit() else None,
                "recommended": fields.get("Recommended", "").upper() == "YES",
                "restart": fields.get("Action", "").lower() == "restart",
            }
        )
        current["security"] = _is_security(current)
        current = None
    for update in updates:
        update.setdefault("security", _is_security(update))
    return updates


def _is_security(update: dict[str, Any]) -> bool:
    """Rapid Security Responses ("(a)" labels) and entries titled as security updates."""
    text = f"{update.get('label', '')} {update.get('title', '')}"
    return "Security" in text or bool(re.search(r"\([a-z]\)", update.get("label", "")))


class MacOSBackend:
    """macOS, through pkgutil and softwareupdate."""

    name = "macos"

    def __init__(self, *, runner: Runner = run_command) -> None:
        self.runner = runner

    def installed_software(self) -> list[dict[str, Any]]:
        listed = self.runner(PKGS)
        if listed.returncode != 0:
            raise RuntimeError(f"pkgutil --pkgs failed: {listed.stderr.strip()[:200]}")
        packages = []
        for package_id in parse_pkgutil_pkgs(listed.stdout):
            info = self.runner(["pkgutil", "--pkg-info", package_id])
            if info.returncode == 0:
                item = parse_pkg_info(info.stdout)
                packages.append(item if item["id"] else {**item, "id": package_id})
        return packages

    def patch_report(self) -> PatchReport:
        report = PatchReport()
        result = self.runner(SOFTWAREUPDATE)
        if result.returncode != 0:
            report.error = f"softwareupdate failed: {result.stderr.strip()[:200]}"
            return report
        # softwareupdate prints "No new software available." on stderr on recent releases.
        report.updates = parse_softwareupdate(result.stdout)
        report.lists_stale = False  # it asks Apple's catalogue each time
        report.pending_state = pending_state(listed=True, count=len(report.updates), stale=False)
        return report

    def accounts(self) -> list[dict[str, Any]] | None:
        return None  # dscl and the admin group: not read yet.

    def security(self) -> dict[str, Any]:
        return unknown_security("not read on macOS yet")
