"""Simulated devices for ``tandem bench agents``: inventory documents in the wire shape the
real agent sends (decision 0025, ``tandem_agent.collect`` and its backends), from five
templates, deterministic for a seed.

- ``debian-server``: Debian 12 server, ~600 dpkg packages (``name:arch`` ids, source
  packages and versions, ``Debian-Security`` origins on security updates);
- ``ubuntu-desktop``: Ubuntu 24.04 desktop, ~1,650 packages (some ``i386`` multiarch);
- ``rhel-server``: RHEL 9, ~550 rpm packages (``name:x86_64``, ``.el9`` releases);
- ``windows-11``: ~150 programs from the uninstall registry (``HKLM:{GUID}`` ids,
  publishers) and WUA updates with KB numbers and MSRC severities;
- ``macos``: ~180 ``pkgutil`` receipts (``com.apple.pkg.…`` ids) and softwareupdate labels.

Devices of one template share most packages (as a fleet built from one image does) and each
adds a few of its own; the package names are real where it matters (``openssl``,
``libssl3``, ``systemd`` …) and generated after them for the long tail. Pure: no Django, no
I/O. The server side (``tandem.agents.documents``) gives the canonical form and hash; the
delta is made with the agent's rules (``delta`` below mirrors ``tandem_agent.inventory``,
which the server does not depend on; the bench's test checks both agree).
"""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

from tandem.agents.documents import canonical, state_hash

Document = dict[str, Any]

TEMPLATES = ("debian-server", "ubuntu-desktop", "rhel-server", "windows-11", "macos")
#: How a fleet is made up: an MSP's clients are mostly Windows desktops and Linux servers.
MIX = {
    "windows-11": 40,
    "ubuntu-desktop": 20,
    "debian-server": 20,
    "rhel-server": 10,
    "macos": 10,
}


def _words(text: str) -> list[str]:
    """Package names written as running text (one list per line would be 300 lines)."""
    return text.split()


_LINUX_CORE = _words(
    """
adduser apt apt-utils base-files base-passwd bash bsdutils ca-certificates coreutils cron
curl dash debconf debianutils diffutils dpkg e2fsprogs findutils gcc-12-base gpgv grep
gzip hostname init-system-helpers iproute2 iputils-ping less libacl1 libapt-pkg6.0
libattr1 libaudit1 libblkid1 libbz2-1.0 libc-bin libc6 libcap2 libcom-err2 libcrypt1
libcurl4 libdb5.3 libdebconfclient0 libext2fs2 libffi8 libgcc-s1 libgcrypt20 libgmp10
libgnutls30 libgpg-error0 libgssapi-krb5-2 libidn2-0 libk5crypto3 libkeyutils1 libkrb5-3
libkrb5support0 libldap-2.5-0 liblz4-1 liblzma5 libmd0 libmount1 libncursesw6 libnettle8
libnghttp2-14 libp11-kit0 libpam-modules libpam-runtime libpam0g libpcre2-8-0 libpsl5
librtmp1 libsasl2-2 libseccomp2 libselinux1 libsemanage2 libsepol2 libsmartcols1
libsqlite3-0 libss2 libssh2-1 libssl3 libstdc++6 libsystemd0 libtasn1-6 libtinfo6 libudev1
libunistring2 libuuid1 libxxhash0 libzstd1 login logrotate lsb-release mawk mount nano
ncurses-base ncurses-bin netbase openssh-client openssh-server openssl passwd perl
perl-base procps python3 python3.11 readline-common sed sensible-utils sudo systemd
systemd-sysv sysvinit-utils tar tzdata udev unattended-upgrades util-linux vim-common
vim-tiny wget whiptail zlib1g
"""
)
_DESKTOP = _words(
    """
gnome-shell gdm3 nautilus firefox thunderbird libreoffice-core libreoffice-writer
libreoffice-calc gnome-terminal pulseaudio pipewire wireplumber network-manager
xserver-xorg-core xwayland libgtk-3-0 libgtk-4-1 libglib2.0-0 libcairo2 libpango-1.0-0
libwayland-client0 mesa-vulkan-drivers libgl1-mesa-dri fonts-dejavu-core cups evince eog
gedit totem rhythmbox shotwell snapd gnome-software fwupd bluez
"""
)
_RPM_CORE = _words(
    """
bash coreutils glibc openssl openssl-libs systemd systemd-libs dnf rpm rpm-libs kernel
kernel-core kernel-modules sudo openssh openssh-server openssh-clients curl libcurl
python3 python3-libs NetworkManager firewalld selinux-policy selinux-policy-targeted audit
audit-libs chrony cronie rsyslog tar gzip xz zlib krb5-libs cyrus-sasl-lib libselinux pam
util-linux shadow-utils polkit dbus tzdata ca-certificates
"""
)
_STEMS = _words(
    """
xml yaml json png jpeg tiff webp gif freetype fontconfig harfbuzz icu sasl ldap krb ssh
gnutls nettle gmp mpfr isl elf dw unwind atomic quadmath gomp itm ubsan asan lsan tsan
cups avahi dbus polkit udisks upower colord geoclue gvfs tracker secret notify canberra
pulse sndfile flac vorbis ogg opus mpg123 lame x264 x265 vpx aom dav1d va vdpau drm gbm
egl gles wayland xkb xcb xau xdmcp xext xrender xfixes xrandr xinerama xcursor xi xtst xss
xshmfence sm ice usb pci hwloc numa cap acl attr audit seccomp apparmor selinux bpf pcap
nl nftnl mnl netfilter iptc ip4tc
"""
)

_PUBLISHERS = (
    "Microsoft Corporation",
    "Adobe Inc.",
    "Google LLC",
    "Mozilla",
    "Oracle Corporation",
    "Zoom Video Communications, Inc.",
    "Cisco Systems, Inc.",
    "Dell Inc.",
    "Intel Corporation",
    "NVIDIA Corporation",
    "Realtek Semiconductor Corp.",
    "7-Zip",
    "Notepad++ Team",
    "The Git Development Community",
    "Python Software Foundation",
    "VideoLAN",
    "Citrix Systems, Inc.",
    "Fortinet Inc",
    "SAP SE",
    "DATEV eG",
)
_WIN_APPS = (
    "Microsoft Edge",
    "Microsoft Office Professional Plus 2021",
    "Microsoft Teams",
    "Microsoft OneDrive",
    "Microsoft Visual C++ 2015-2022 Redistributable (x64)",
    "Microsoft Visual C++ 2015-2022 Redistributable (x86)",
    "Microsoft .NET Runtime - 8.0",
    "Microsoft Windows Desktop Runtime - 8.0",
    "Adobe Acrobat Reader",
    "Google Chrome",
    "Mozilla Firefox",
    "Zoom Workplace",
    "Cisco Secure Client",
    "7-Zip 24.08 (x64)",
    "Notepad++ (64-bit x64)",
    "Git",
    "Python 3.12.7 (64-bit)",
    "VLC media player",
    "Citrix Workspace",
    "FortiClient VPN",
    "Dell Command | Update",
    "Intel(R) Management Engine Components",
    "NVIDIA Graphics Driver",
    "Realtek Audio Driver",
)


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _guid(rng: random.Random) -> str:
    return "{" + str(uuid.UUID(int=rng.getrandbits(128))).upper() + "}"


def _names(core: tuple[str, ...] | list[str], count: int, rng: random.Random) -> list[str]:
    """``count`` package names: the real ones first, then ``lib<stem><n>`` and
    ``<stem>-<suffix>`` after them, as a distribution's long tail looks."""
    names = list(dict.fromkeys(core))
    suffixes = ("-common", "-data", "-bin", "-utils", "-dev", "-doc", "-tools", "-plugins")
    while len(names) < count:
        stem = rng.choice(_STEMS)
        if rng.random() < 0.6:
            name = f"lib{stem}{rng.choice(('', '1', '2', '3', '6', '-1.0-0', '2.0-0'))}"
        else:
            name = f"{stem}{rng.choice(suffixes)}"
        name = f"{name}{rng.randint(0, 40)}" if name in names else name
        if name not in names:
            names.append(name)
    return names[:count]


def _deb_version(rng: random.Random, suite: str) -> str:
    major, minor, patch = rng.randint(0, 12), rng.randint(0, 40), rng.randint(0, 20)
    revision = rng.randint(1, 9)
    if suite == "ubuntu":
        return f"{major}.{minor}.{patch}-{revision}ubuntu{rng.randint(0, 4)}.{rng.randint(1, 9)}"
    tail = f"+deb12u{rng.randint(1, 6)}" if rng.random() < 0.2 else ""
    return f"{major}.{minor}.{patch}-{revision}{tail}"


def _bumped(version: str, rng: random.Random) -> str:
    """A later version than ``version`` in the same scheme (what an upgrade installs)."""
    head, sep, tail = version.rpartition("-")
    if sep and tail[:1].isdigit():
        return f"{head}-{tail}.{rng.randint(1, 9)}"
    return f"{version}.{rng.randint(1, 9)}"


class _Fleet:
    """The package set one template's image carries, shared by its devices."""

    def __init__(self, template: str, seed: int) -> None:
        rng = _rng(seed, "fleet", template)
        self.template = template
        self.packages: list[dict[str, Any]] = []
        if template in ("debian-server", "ubuntu-desktop"):
            flavour = "ubuntu" if template == "ubuntu-desktop" else "debian"
            core = _LINUX_CORE + (_DESKTOP if flavour == "ubuntu" else [])
            count = 1650 if flavour == "ubuntu" else 600
            for name in _names(core, count, rng):
                version = _deb_version(rng, flavour)
                source = name
                if name.startswith("lib") and rng.random() < 0.7:
                    source = name[3:].rstrip("0123456789.-") or name
                arches = ["amd64"]
                if flavour == "ubuntu" and rng.random() < 0.05:
                    arches.append("i386")
                for arch in arches:
                    self.packages.append(
                        {
                            "id": f"{name}:{arch}",
                            "name": name,
                            "version": version,
                            "arch": arch if not name.endswith(("-data", "-doc")) else "all",
                            "source": source,
                            "source_version": version,
                            "status": "ii",
                        }
                    )
        elif template == "rhel-server":
            for name in _names(_RPM_CORE, 550, rng):
                version = (
                    f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
                    f"-{rng.randint(1, 40)}.el9"
                )
                arch = "noarch" if name.endswith(("-data", "-doc", "-common")) else "x86_64"
                self.packages.append(
                    {
                        "id": f"{name}:{arch}",
                        "name": name,
                        "version": version,
                        "arch": arch,
                        "source": name,
                        "source_version": version,
                    }
                )
        elif template == "windows-11":
            names = list(_WIN_APPS)
            while len(names) < 150:
                names.append(
                    f"{rng.choice(_PUBLISHERS).split()[0]} "
                    f"{rng.choice(('Agent', 'Driver', 'Runtime', 'Tools', 'Update Helper', 'SDK'))}"
                    f" {rng.randint(1, 99)}"
                )
            for name in dict.fromkeys(names):
                scope = rng.choice(("HKLM", "HKLM", "HKLM32", "HKCU"))
                self.packages.append(
                    {
                        "id": f"{scope}:{_guid(rng)}",
                        "name": name,
                        "version": f"{rng.randint(1, 130)}.{rng.randint(0, 9)}."
                        f"{rng.randint(0, 9999)}.{rng.randint(0, 99)}",
                        "publisher": rng.choice(_PUBLISHERS),
                        "installed_on": f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
                        "system_component": rng.random() < 0.1,
                    }
                )
        else:  # macos
            apple = (
                "XProtectPayloads",
                "MRTConfigData",
                "RosettaUpdateAuto",
                "CLTools_SDK_macOS14",
            )
            ids = [f"com.apple.pkg.{n}" for n in apple]
            while len(ids) < 180:
                vendor = rng.choice(("com.microsoft", "com.google", "org.mozilla", "com.zoom"))
                ids.append(f"{vendor}.pkg.{rng.choice(_STEMS)}{rng.randint(0, 99)}")
            for package_id in dict.fromkeys(ids):
                self.packages.append(
                    {
                        "id": package_id,
                        "name": package_id,
                        "version": f"{rng.randint(1, 30)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
                        "volume": "/",
                        "installed_at": 1_750_000_000 + rng.randint(0, 10_000_000),
                    }
                )
        self.packages.sort(key=lambda item: item["id"])


_FLEETS: dict[tuple[str, int], _Fleet] = {}


def _fleet(template: str, seed: int) -> _Fleet:
    key = (template, seed)
    if key not in _FLEETS:
        _FLEETS[key] = _Fleet(template, seed)
    return _FLEETS[key]


def template_of(index: int, seed: int) -> str:
    """Which template device ``index`` of the fleet follows (by :data:`MIX`)."""
    rng = _rng(seed, "template", index)
    return rng.choices(list(MIX), weights=list(MIX.values()))[0]


def _updates(template: str, software: list[dict[str, Any]], rng: random.Random) -> list[Any]:
    """Pending updates: a few packages with a newer candidate, some of them security."""
    chosen = rng.sample(software, k=min(len(software), rng.randint(0, 25)))
    updates: list[dict[str, Any]] = []
    for item in chosen:
        security = rng.random() < 0.3
        candidate = _bumped(str(item["version"]), rng)
        if template in ("debian-server", "ubuntu-desktop"):
            ubuntu = template == "ubuntu-desktop"
            label = ("Ubuntu" if ubuntu else "Debian") + ("-Security" if security else "")
            suite = ("noble" if ubuntu else "bookworm") + ("-security" if security else "")
            updates.append(
                {
                    "id": item["id"],
                    "name": item["name"],
                    "arch": item["arch"],
                    "installed_version": item["version"],
                    "candidate_version": candidate,
                    "security": security,
                    "origins": [
                        {"label": label, "version": "24.04" if ubuntu else "12", "suite": suite}
                    ],
                }
            )
        elif template == "rhel-server":
            updates.append(
                {
                    "id": item["id"],
                    "name": item["name"],
                    "arch": item["arch"],
                    "installed_version": item["version"],
                    "candidate_version": candidate,
                    "security": security,
                }
            )
        elif template == "windows-11":
            kb = f"KB50{rng.randint(10000, 99999)}"
            updates.append(
                {
                    "id": f"{uuid.UUID(int=rng.getrandbits(128))}:{rng.randint(0, 3)}",
                    "name": kb,
                    "title": f"2026-{rng.randint(1, 12):02d} Cumulative Update ({kb})",
                    "kb": [kb],
                    "severity": "critical" if security else None,
                    "categories": ["Security Updates"] if security else ["Updates"],
                    "cves": [f"CVE-2026-{rng.randint(20000, 49999)}"] if security else [],
                    "security": security,
                    "reboot_required": security,
                    "released_at": None,
                }
            )
        else:
            label = f"{item['name'].rsplit('.', 1)[-1]}-{candidate}"
            updates.append({"id": label, "name": label, "label": label, "security": security})
    return sorted({u["id"]: u for u in updates}.values(), key=lambda u: u["id"])


_OS = {
    "debian-server": ("linux", "debian", "Debian GNU/Linux", "12", "bookworm", "6.1.0-28-amd64"),
    "ubuntu-desktop": ("linux", "ubuntu", "Ubuntu", "24.04", "noble", "6.8.0-49-generic"),
    "rhel-server": ("linux", "rhel", "Red Hat Enterprise Linux", "9.5", None, "5.14.0-503.el9"),
    "windows-11": ("windows", "windows", "Windows", "10.0.26100", None, "10.0.26100"),
    "macos": ("macos", "macos", "macOS", "15.1", None, "24.1.0"),
}
_PRETTY = {
    "debian-server": "Debian GNU/Linux 12 (bookworm)",
    "ubuntu-desktop": "Ubuntu 24.04.1 LTS",
    "rhel-server": "Red Hat Enterprise Linux 9.5 (Plow)",
    "windows-11": "Microsoft Windows 11 Pro",
    "macos": "macOS Sequoia 15.1",
}
_BACKEND = {
    "debian-server": "debian",
    "ubuntu-desktop": "debian",
    "rhel-server": "rpm",
    "windows-11": "windows",
    "macos": "macos",
}


def hardware_id(index: int, seed: int) -> str:
    return str(uuid.UUID(int=_rng(seed, "hw", index).getrandbits(128)))


def device_facts(index: int, seed: int, template: str | None = None) -> dict[str, Any]:
    """The ``device`` record (also what enrolment sends)."""
    template = template or template_of(index, seed)
    rng = _rng(seed, "device", index)
    prefix = {"windows-11": "PC", "macos": "MAC", "ubuntu-desktop": "ws"}.get(template, "srv")
    hostname = f"{prefix}-{index:06d}"
    return {
        "hostname": hostname,
        "fqdn": f"{hostname}.bench.example",
        "hardware_id": hardware_id(index, seed),
        "serial": f"SN{rng.getrandbits(40):010X}",
        "manufacturer": rng.choice(("Dell Inc.", "LENOVO", "HP", "Apple Inc.", "QEMU")),
        "model": rng.choice(("OptiPlex 7010", "ThinkPad T14", "EliteBook 840", "Standard PC")),
        "agent_version": "0.1.0",
    }


def os_facts(index: int, seed: int, template: str | None = None) -> dict[str, Any]:
    template = template or template_of(index, seed)
    family, os_id, name, version, codename, kernel = _OS[template]
    return {
        "family": family,
        "id": os_id,
        "name": name,
        "version": version,
        "codename": codename,
        "pretty_name": _PRETTY[template],
        "kernel": kernel,
        "arch": "arm64" if template == "macos" else "x86_64",
        "boot_time": 1_790_000_000 + _rng(seed, "boot", index).randint(0, 9_000_000),
    }


def document(index: int, seed: int = 1, template: str | None = None) -> Document:
    """Device ``index``'s first full inventory, canonical (every list sorted by id);
    ``template`` overrides the fleet's mix."""
    template = template or template_of(index, seed)
    rng = _rng(seed, "doc", index)
    fleet = _fleet(template, seed)
    # Most of the image, minus a few packages this device dropped, plus a few of its own.
    software = [copy.copy(item) for item in fleet.packages if rng.random() > 0.01]
    for extra in range(rng.randint(0, 10)):
        base = copy.copy(rng.choice(fleet.packages))
        base["id"] = f"x{extra}-{base['id']}"
        base["name"] = f"x{extra}-{base['name']}"
        software.append(base)
    software.sort(key=lambda item: item["id"])
    updates = _updates(template, software, rng)
    security_count = sum(1 for u in updates if u["security"])
    mac = ":".join(f"{b:02x}" for b in rng.randbytes(6))
    doc: Document = {
        "schema_version": 1,
        "backend": {"name": _BACKEND[template]},
        "device": device_facts(index, seed, template),
        "os": os_facts(index, seed, template),
        "hardware": {
            "cpu_model": rng.choice(
                ("Intel(R) Core(TM) i5-1345U", "AMD EPYC 7763 64-Core Processor", "Apple M2")
            ),
            "cpu_cores": rng.choice((2, 4, 8, 16)),
            "cpu_threads": rng.choice((4, 8, 16, 32)),
            "memory_bytes": rng.choice((8, 16, 32, 64)) * 1024**3,
        },
        "disks": [
            {
                "id": "/" if template != "windows-11" else "C:\\",
                "device": "/dev/nvme0n1p2" if template != "windows-11" else "C:\\",
                "mountpoint": "/" if template != "windows-11" else "C:\\",
                "fstype": {"windows-11": "NTFS", "macos": "apfs", "rhel-server": "xfs"}.get(
                    template, "ext4"
                ),
                "total_bytes": rng.choice((256, 512, 1024)) * 1000**3,
            }
        ],
        "network_interfaces": sorted(
            [
                {
                    "id": "eth0" if template != "windows-11" else "Ethernet",
                    "name": "eth0" if template != "windows-11" else "Ethernet",
                    "mac": mac,
                    "ipv4": [f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"],
                    "ipv6": [f"fe80::{index:x}"],
                    "up": True,
                    "mtu": 1500,
                },
                {
                    "id": "lo",
                    "name": "lo",
                    "mac": None,
                    "ipv4": ["127.0.0.1"],
                    "ipv6": ["::1"],
                    "up": True,
                    "mtu": 65536,
                },
            ],
            key=lambda item: item["id"],
        ),
        "software": software,
        "updates": updates,
        "patch_status": {
            "pending_state": "pending" if updates else "current",
            "pending_count": len(updates),
            "security_count": security_count,
            "reboot_required": False,
            "reboot_packages": [],
            "lists_refreshed_at": 1_790_000_000,
            "lists_stale": False,
            "automatic_updates": {"state": "enabled", "detail": "bench"},
            "error": None,
        },
        "security": {"firewall": "on", "disk_encryption": rng.choice(("on", "off"))},
        "errors": {},
    }
    if template in ("debian-server", "ubuntu-desktop", "rhel-server"):
        doc["accounts"] = [
            {"id": name, "name": name, "uid": uid} for name, uid in (("admin", 1000), ("root", 0))
        ]
    return doc


def upgraded(doc: Document, rng: random.Random, count: int = 3) -> Document:
    """``doc`` after ``count`` packages were upgraded (pending ones first, as a patch run
    does): their versions move on and their pending updates go."""
    result = copy.copy(doc)
    pending = {u["id"]: u for u in doc.get("updates", [])}
    software = {item["id"]: item for item in doc["software"]}
    targets = [i for i in pending if i in software][:count]
    while len(targets) < count:
        targets.append(rng.choice(doc["software"])["id"])
    new_software = dict(software)
    for item_id in targets:
        item = dict(software[item_id])
        update = pending.get(item_id)
        item["version"] = (update.get("candidate_version") if update else None) or _bumped(
            str(item["version"]), rng
        )
        if "source_version" in item:
            item["source_version"] = item["version"]
        new_software[item_id] = item
    result["software"] = [new_software[i] for i in sorted(new_software)]
    result["updates"] = [u for u in doc.get("updates", []) if u["id"] not in targets]
    status = dict(doc["patch_status"])
    status["pending_count"] = len(result["updates"])
    status["security_count"] = sum(1 for u in result["updates"] if u.get("security"))
    result["patch_status"] = status
    return result


# --- The agent's delta rules (``tandem_agent.inventory.delta``) -----------------------------

_MISSING = object()


def _same(one: Any, other: Any) -> bool:
    return canonical(one) == canonical(other)


def _section_delta(before: Any, after: Any) -> dict[str, Any] | None:
    if after is _MISSING:
        return None if before is _MISSING else {"remove": True}
    if before is _MISSING or type(before) is not type(after):
        return {"replace": after}
    if isinstance(after, list):
        old = {item["id"]: item for item in before}
        new = {item["id"]: item for item in after}
        added = [new[i] for i in sorted(new.keys() - old.keys())]
        removed = sorted(old.keys() - new.keys())
        changed = [new[i] for i in sorted(new.keys() & old.keys()) if not _same(new[i], old[i])]
        if not (added or removed or changed):
            return None
        return {"added": added, "removed": removed, "changed": changed}
    if isinstance(after, dict):
        set_fields = {k: v for k, v in after.items() if k not in before or not _same(before[k], v)}
        unset = sorted(before.keys() - after.keys())
        return {"set": set_fields, "unset": unset} if set_fields or unset else None
    return None if _same(before, after) else {"replace": after}


def delta(previous: Document, current: Document) -> dict[str, Any]:
    """What changed from ``previous`` to ``current``, as the agent sends it."""
    sections: dict[str, Any] = {}
    for name in sorted(set(previous) | set(current)):
        if name == "schema_version":
            continue
        change = _section_delta(previous.get(name, _MISSING), current.get(name, _MISSING))
        if change is not None:
            sections[name] = change
    return {
        "schema_version": current.get("schema_version"),
        "base_hash": state_hash(previous),
        "state_hash": state_hash(current),
        "sections": sections,
    }
