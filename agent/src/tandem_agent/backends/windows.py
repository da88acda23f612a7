"""Windows: the uninstall registry keys, the Windows Update Agent, the reboot-pending keys.

Each fact comes from a PowerShell one-liner that prints JSON (``ConvertTo-Json``), so the
agent needs no COM binding of its own: the uninstall keys of both registry views and of the
current user; the WUA search ``IsInstalled=0 and Type='Software' and IsHidden=0`` with the
fields domain.md §1.4 lists; and the three reboot-pending keys. ``ConvertTo-Json`` prints a
single object instead of a list when there is only one: the parsers take both.
"""

from __future__ import annotations

import json
from typing import Any

from tandem_agent.backends.base import (
    PatchReport,
    Runner,
    pending_state,
    run_command,
    unknown_security,
)

_POWERSHELL = ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"]

UNINSTALL_SCRIPT = (
    "Get-ItemProperty "
    "'HKLM:\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*',"
    "'HKLM:\\Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*',"
    "'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' "
    "-ErrorAction SilentlyContinue | Where-Object DisplayName | "
    "Select-Object PSChildName,PSPath,DisplayName,DisplayVersion,Publisher,InstallDate,"
    "SystemComponent | ConvertTo-Json -Compress"
)

WUA_SCRIPT = (
    "$s=(New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher();"
    "$r=$s.Search(\"IsInstalled=0 and Type='Software' and IsHidden=0\");"
    "@($r.Updates|ForEach-Object{[pscustomobject]@{UpdateID=$_.Identity.UpdateID;"
    "RevisionNumber=$_.Identity.RevisionNumber;Title=$_.Title;KBArticleIDs=@($_.KBArticleIDs);"
    "MsrcSeverity=$_.MsrcSeverity;Categories=@($_.Categories|ForEach-Object{$_.Name});"
    "CveIDs=@($_.CveIDs);RebootRequired=$_.RebootRequired;IsDownloaded=$_.IsDownloaded;"
    "LastDeploymentChangeTime=$_.LastDeploymentChangeTime.ToString('o')}})"
    "|ConvertTo-Json -Compress"
)

REBOOT_SCRIPT = (
    "[pscustomobject]@{"
    "WindowsUpdate=(Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
    "WindowsUpdate\\Auto Update\\RebootRequired');"
    "ComponentBasedServicing=(Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
    "Component Based Servicing\\RebootPending');"
    "PendingFileRenameOperations=$null -ne (Get-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\"
    "Control\\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue)"
    "}|ConvertTo-Json -Compress"
)

_HIVES = {"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_CURRENT_USER": "HKCU"}


def _as_list(text: str) -> list[dict[str, Any]]:
    text = text.strip()
    if not text:
        return []
    value = json.loads(text)
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)]


def _key_scope(ps_path: str) -> str:
    """``…Registry::HKEY_LOCAL_MACHINE\\Software\\WOW6432Node\\…`` → ``HKLM32``."""
    path = ps_path.split("::", 1)[-1]
    hive = _HIVES.get(path.split("\\", 1)[0].upper(), "HK")
    return hive + ("32" if "\\WOW6432NODE\\" in path.upper() else "")


def parse_uninstall_keys(text: str) -> list[dict[str, Any]]:
    """Installed programs from the uninstall keys (JSON), keyed by registry view and key name."""
    programs: dict[str, dict[str, Any]] = {}
    for entry in _as_list(text):
        name = entry.get("DisplayName")
        key = entry.get("PSChildName")
        if not name or not key:
            continue
        item_id = f"{_key_scope(str(entry.get('PSPath') or ''))}:{key}"
        programs[item_id] = {
            "id": item_id,
            "name": str(name).strip(),
            "version": str(entry.get("DisplayVersion") or ""),
            "publisher": str(entry.get("Publisher") or ""),
            "installed_on": str(entry.get("InstallDate") or "") or None,
            "system_component": entry.get("SystemComponent") == 1,
        }
    return list(programs.values())


def parse_wua_updates(text: str) -> list[dict[str, Any]]:
    """Pending updates from the WUA search; security by classification or MSRC severity."""
    updates = []
    for entry in _as_list(text):
        categories = [str(c) for c in entry.get("Categories") or []]
        severity = str(entry.get("MsrcSeverity") or "")
        kbs = [f"KB{kb}" for kb in entry.get("KBArticleIDs") or []]
        updates.append(
            {
                "id": f"{entry['UpdateID']}:{entry.get('RevisionNumber', 0)}",
                "name": kbs[0] if kbs else str(entry.get("Title", "")),
                "title": str(entry.get("Title", "")),
                "kb": kbs,
                "severity": severity.lower() or None,
                "categories": categories,
                "cves": [str(c) for c in entry.get("CveIDs") or []],
                "security": "Security Updates" in categories or bool(severity),
                "reboot_required": bool(entry.get("RebootRequired")),
                "released_at": entry.get("LastDeploymentChangeTime"),
            }
        )
    return updates


def parse_reboot_keys(text: str) -> tuple[bool | None, list[str]]:
    """Whether a reboot is pending, and which of the three keys say so."""
    entries = _as_list(text)
    if not entries:
        return None, []
    reasons = sorted(key for key, value in entries[0].items() if value is True)
    return bool(reasons), reasons


class WindowsBackend:
    """Windows 10, 11 and Server, through PowerShell."""

    name = "windows"

    def __init__(self, *, runner: Runner = run_command) -> None:
        self.runner = runner

    def _powershell(self, script: str) -> str:
        result = self.runner([*_POWERSHELL, script])
        if result.returncode != 0:
            raise RuntimeError(f"PowerShell failed: {result.stderr.strip()[:200]}")
        return result.stdout

    def installed_software(self) -> list[dict[str, Any]]:
        return parse_uninstall_keys(self._powershell(UNINSTALL_SCRIPT))

    def patch_report(self) -> PatchReport:
        report = PatchReport()
        try:
            report.reboot_required, report.reboot_packages = parse_reboot_keys(
                self._powershell(REBOOT_SCRIPT)
            )
            report.updates = parse_wua_updates(self._powershell(WUA_SCRIPT))
        except (RuntimeError, ValueError, KeyError) as error:
            report.error = str(error)[:200]
            return report
        # The WUA search asks the update service itself: its answer is never stale.
        report.lists_stale = False
        report.pending_state = pending_state(listed=True, count=len(report.updates), stale=False)
        return report

    def accounts(self) -> list[dict[str, Any]] | None:
        return None  # Get-LocalUser and the Administrators group: not read yet.

    def security(self) -> dict[str, Any]:
        # BitLocker, Windows Firewall, Defender and the lock policy: not read yet.
        return unknown_security("not read on Windows yet")
