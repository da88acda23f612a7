"""OS backends, one per family of systems, chosen by platform and ``/etc/os-release``."""

from __future__ import annotations

import platform
import shutil
import sys
from typing import Any

from tandem_agent.backends.base import Backend, PatchReport, unknown_security
from tandem_agent.backends.debian import DebianBackend, is_debian_like
from tandem_agent.backends.macos import MacOSBackend
from tandem_agent.backends.rpm import RpmBackend, is_rpm_like
from tandem_agent.backends.windows import WindowsBackend


class UnknownBackend:
    """A system no backend knows: inventory without software, everything else "unknown"."""

    name = "unknown"

    def installed_software(self) -> list[dict[str, Any]]:
        return []

    def patch_report(self) -> PatchReport:
        return PatchReport(error="no backend for this operating system")

    def accounts(self) -> list[dict[str, Any]] | None:
        return None

    def security(self) -> dict[str, Any]:
        return unknown_security("no backend for this operating system")


def os_release() -> dict[str, str]:
    try:
        return dict(platform.freedesktop_os_release())
    except OSError:
        return {}


def choose_backend(*, system: str | None = None, release: dict[str, str] | None = None) -> Backend:
    """The backend for this machine: by ``sys.platform``, then os-release, then the tools found."""
    system = system or sys.platform
    if system == "win32":
        return WindowsBackend()
    if system == "darwin":
        return MacOSBackend()
    release = os_release() if release is None else release
    if is_debian_like(release):
        return DebianBackend()
    if is_rpm_like(release):
        return RpmBackend()
    if shutil.which("dpkg-query"):
        return DebianBackend()
    if shutil.which("rpm"):
        return RpmBackend()
    return UnknownBackend()


__all__ = [
    "Backend",
    "DebianBackend",
    "MacOSBackend",
    "RpmBackend",
    "UnknownBackend",
    "WindowsBackend",
    "choose_backend",
    "os_release",
]
