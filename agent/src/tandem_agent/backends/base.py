"""What every OS backend offers, and how backends run commands.

A backend knows one family of systems (Debian/Ubuntu, RPM, Windows, macOS): how to list the
installed software, the pending updates, the local accounts and the security posture. The
generic facts (CPU, memory, disks, network) come from psutil in :mod:`tandem_agent.system`.

Backends run commands through a :data:`Runner`, so tests hand them recorded outputs; the
parsers themselves are plain functions over text.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Security posture and pending states are one of these words, never a guess.
ON, OFF, PARTIAL, UNKNOWN, NOT_APPLICABLE = "on", "off", "partial", "unknown", "not_applicable"

#: ``patch_status.pending_state``: updates known to be pending, none (with fresh lists), or
#: unknown (the listing failed, or it found none while the package lists were stale).
PENDING, CURRENT = "pending", "current"


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str = ""


Runner = Callable[[Sequence[str]], CommandResult]


def run_command(args: Sequence[str], *, timeout: float = 600) -> CommandResult:
    """Run a command with the C locale (parsers read English output); never raises.

    A missing program is exit status 127, as a shell would say, with the reason on stderr.
    """
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "DEBIAN_FRONTEND": "noninteractive"}
    try:
        # The programs are fixed names chosen by the backend, never user input.
        done = subprocess.run(  # noqa: S603
            list(args), capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except FileNotFoundError as error:
        return CommandResult(127, "", str(error))
    except (OSError, subprocess.TimeoutExpired) as error:
        return CommandResult(126, "", str(error))
    return CommandResult(done.returncode, done.stdout, done.stderr)


@dataclass
class PatchReport:
    """Pending updates and what the agent knows about them."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    pending_state: str = UNKNOWN
    reboot_required: bool | None = None
    reboot_packages: list[str] = field(default_factory=list)
    lists_refreshed_at: int | None = None
    lists_stale: bool | None = None
    automatic_updates: dict[str, str] | None = None
    error: str | None = None

    def status(self) -> dict[str, Any]:
        """The ``patch_status`` section of the inventory."""
        return {
            "pending_state": self.pending_state,
            "pending_count": len(self.updates),
            "security_count": sum(1 for u in self.updates if u.get("security")),
            "reboot_required": self.reboot_required,
            "reboot_packages": sorted(self.reboot_packages),
            "lists_refreshed_at": self.lists_refreshed_at,
            "lists_stale": self.lists_stale,
            "automatic_updates": self.automatic_updates or posture(UNKNOWN, "not read"),
            "error": self.error,
        }


def pending_state(*, listed: bool, count: int, stale: bool | None) -> str:
    """Pending when anything is pending; current only when the lists are fresh; else unknown.

    Stale package lists can hide updates, so "none pending" from stale lists is *unknown*, not
    compliant (domain.md §1.4); updates found are pending whatever the lists' age.
    """
    if not listed:
        return UNKNOWN
    if count:
        return PENDING
    return CURRENT if stale is False else UNKNOWN


class Backend(Protocol):
    """One family of operating systems."""

    name: str

    def installed_software(self) -> list[dict[str, Any]]:
        """Installed packages or programs, each with a stable ``id``."""
        ...

    def patch_report(self) -> PatchReport:
        """Pending updates, security ones told apart, and whether a reboot is pending."""
        ...

    def accounts(self) -> list[dict[str, Any]] | None:
        """Local accounts with an ``admin`` flag; None when this OS does not say."""
        ...

    def security(self) -> dict[str, Any]:
        """Disk encryption, firewall, screen lock, anti-malware: each ``{"state", "detail"}``."""
        ...


def posture(state: str, detail: str = "") -> dict[str, str]:
    return {"state": state, "detail": detail}


def unknown_security(reason: str) -> dict[str, Any]:
    return {
        name: posture(UNKNOWN, reason)
        for name in ("disk_encryption", "firewall", "screen_lock", "antimalware")
    }
