"""Build the inventory document of this machine.

The generic facts (identity, OS and kernel, CPU, memory, disks, network interfaces) come from
the standard library and psutil on every OS; software, updates, accounts and the security
posture come from the OS backend. Only slow-changing facts go in: disk *size*, not usage;
memory *total*, not free. The inventory's hash then changes when the machine does, not every
minute, and a check-in with nothing new carries an empty delta.
"""

from __future__ import annotations

import platform
import socket
import sys
from pathlib import Path
from typing import Any

import psutil

from tandem_agent import __version__
from tandem_agent.backends import Backend, choose_backend, os_release
from tandem_agent.inventory import SCHEMA_VERSION, Document, normalise

_DMI = Path("/sys/class/dmi/id")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def device_identity() -> dict[str, Any]:
    """Hostname and the ids that name this machine across reinstalls of the agent."""
    return {
        "hostname": socket.gethostname(),
        "fqdn": socket.getfqdn(),
        "hardware_id": _read(Path("/etc/machine-id")) or _read(_DMI / "product_uuid"),
        "serial": _read(_DMI / "product_serial"),
        "manufacturer": _read(_DMI / "sys_vendor"),
        "model": _read(_DMI / "product_name"),
        "agent_version": __version__,
    }


def os_facts() -> dict[str, Any]:
    release = os_release() if sys.platform.startswith("linux") else {}
    return {
        "family": {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform),
        "id": release.get("ID") or platform.system().lower(),
        "name": release.get("NAME") or platform.system(),
        "version": release.get("VERSION_ID") or platform.version(),
        "codename": release.get("VERSION_CODENAME"),
        "pretty_name": release.get("PRETTY_NAME") or platform.platform(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "boot_time": int(psutil.boot_time()),
    }


def _cpu_model() -> str:
    cpuinfo = _read(Path("/proc/cpuinfo")) or ""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def hardware() -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": psutil.cpu_count(logical=False),
        "cpu_threads": psutil.cpu_count(logical=True),
        "memory_bytes": int(psutil.virtual_memory().total),
    }


def disks() -> list[dict[str, Any]]:
    found = []
    for partition in psutil.disk_partitions(all=False):
        try:
            total = int(psutil.disk_usage(partition.mountpoint).total)
        except OSError:
            total = None
        found.append(
            {
                "id": partition.mountpoint,
                "device": partition.device,
                "mountpoint": partition.mountpoint,
                "fstype": partition.fstype,
                "total_bytes": total,
            }
        )
    return list({d["id"]: d for d in found}.values())


def network_interfaces() -> list[dict[str, Any]]:
    stats = psutil.net_if_stats()
    interfaces = []
    for name, addresses in psutil.net_if_addrs().items():
        by_family: dict[str, list[str]] = {"mac": [], "ipv4": [], "ipv6": []}
        for address in addresses:
            if address.family == socket.AF_INET:
                by_family["ipv4"].append(address.address)
            elif address.family == socket.AF_INET6:
                by_family["ipv6"].append(address.address.split("%", 1)[0])
            elif address.family == psutil.AF_LINK:
                by_family["mac"].append(address.address)
        stat = stats.get(name)
        interfaces.append(
            {
                "id": name,
                "name": name,
                "mac": by_family["mac"][0] if by_family["mac"] else None,
                "ipv4": sorted(by_family["ipv4"]),
                "ipv6": sorted(by_family["ipv6"]),
                "up": bool(stat.isup) if stat else None,
                "mtu": stat.mtu if stat else None,
            }
        )
    return interfaces


def collect(backend: Backend | None = None) -> Document:
    """The inventory document of this machine, in canonical order.

    A backend step that fails leaves its section out and says why in ``errors``; the rest of
    the inventory is still worth sending.
    """
    backend = backend or choose_backend()
    errors: dict[str, str] = {}
    document: Document = {
        "schema_version": SCHEMA_VERSION,
        "backend": {"name": backend.name},
        "device": device_identity(),
        "os": os_facts(),
        "hardware": hardware(),
        "disks": disks(),
        "network_interfaces": network_interfaces(),
    }
    try:
        document["software"] = backend.installed_software()
    except (RuntimeError, OSError, ValueError) as error:
        errors["software"] = str(error)[:300]
    patches = backend.patch_report()
    document["updates"] = patches.updates
    document["patch_status"] = patches.status()
    accounts = backend.accounts()
    if accounts is not None:
        document["accounts"] = accounts
    else:
        errors["accounts"] = "not read on this operating system"
    document["security"] = backend.security()
    document["errors"] = errors
    return normalise(document)
