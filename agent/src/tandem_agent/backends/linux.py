"""Facts every Linux backend reads the same way: local accounts and the security posture.

Accounts come from ``/etc/passwd`` and ``/etc/group``; administrators are uid 0 and the
members of ``sudo``, ``admin`` and ``wheel``. Disk encryption comes from ``lsblk`` (a
``crypt`` device under the root file system), the firewall from nftables, ufw or iptables.
A server has no screen to lock and the agent cannot tell which anti-malware product runs,
so those say "unknown" (or what was found), never a guess.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tandem_agent.backends.base import (
    OFF,
    ON,
    PARTIAL,
    UNKNOWN,
    Runner,
    posture,
)

ADMIN_GROUPS = ("sudo", "admin", "wheel")
NO_LOGIN_SHELLS = ("nologin", "false", "sync", "halt", "shutdown")


def parse_login_defs(text: str) -> int:
    """``UID_MIN`` (the first uid of a person's account); 1000 when unset."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "UID_MIN" and fields[1].isdigit():
            return int(fields[1])
    return 1000


def parse_accounts(passwd: str, group: str, *, uid_min: int = 1000) -> list[dict[str, Any]]:
    """Accounts of ``/etc/passwd``; ``admin`` for uid 0 and members of the admin groups."""
    groups: dict[str, tuple[int, set[str]]] = {}
    for line in group.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit():
            members = {m for m in fields[3].strip().split(",") if m}
            groups[fields[0]] = (int(fields[2]), members)
    admin_gids = {groups[g][0] for g in ADMIN_GROUPS if g in groups}
    admin_members = set().union(*(groups[g][1] for g in ADMIN_GROUPS if g in groups))
    member_of: dict[str, set[str]] = {}
    for name, (_gid, members) in groups.items():
        for member in members:
            member_of.setdefault(member, set()).add(name)
    accounts = []
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) < 7 or not fields[2].isdigit() or not fields[3].isdigit():
            continue
        name, uid, gid, shell = fields[0], int(fields[2]), int(fields[3]), fields[6].strip()
        person = uid == 0 or (uid >= uid_min and uid != 65534)
        accounts.append(
            {
                "id": name,
                "name": name,
                "uid": uid,
                "kind": "user" if person else "system",
                "admin": uid == 0 or gid in admin_gids or name in admin_members,
                "login_shell": bool(shell) and not shell.endswith(NO_LOGIN_SHELLS),
                "groups": sorted(member_of.get(name, set())),
            }
        )
    return accounts


def local_accounts(root: Path = Path("/")) -> list[dict[str, Any]] | None:
    try:
        passwd = (root / "etc/passwd").read_text()
        group = (root / "etc/group").read_text()
    except OSError:
        return None
    try:
        uid_min = parse_login_defs((root / "etc/login.defs").read_text())
    except OSError:
        uid_min = 1000
    return parse_accounts(passwd, group, uid_min=uid_min)


def parse_lsblk(text: str) -> dict[str, str]:
    """Disk encryption from ``lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE``.

    On when the root file system sits on a ``crypt`` device; partial when some other device
    is encrypted; off when root is found on plain devices; unknown when root is not listed
    (a container's overlay, say).
    """
    try:
        devices = json.loads(text).get("blockdevices") or []
    except (ValueError, AttributeError):
        return posture(UNKNOWN, "lsblk gave no readable answer")
    root_chain: list[dict[str, Any]] | None = None
    crypt_found = False

    def walk(device: dict[str, Any], chain: list[dict[str, Any]]) -> None:
        nonlocal root_chain, crypt_found
        chain = [*chain, device]
        if device.get("type") == "crypt":
            crypt_found = True
        mounts = device.get("mountpoints") or [device.get("mountpoint")]
        if "/" in mounts:
            root_chain = chain
        for child in device.get("children") or []:
            walk(child, chain)

    for device in devices:
        walk(device, [])
    if root_chain is None:
        return posture(UNKNOWN, "the root file system is not on a listed block device")
    if any(d.get("type") == "crypt" for d in root_chain):
        return posture(ON, "root file system on dm-crypt")
    if crypt_found:
        return posture(PARTIAL, "some devices use dm-crypt, not the root file system")
    return posture(OFF, "no dm-crypt device under the root file system")


def firewall_from_outputs(
    *, nft: str | None, ufw: str | None, iptables: str | None
) -> dict[str, str]:
    """On when a tool shows active rules; off when tools answer with none; else unknown.

    Each argument is that tool's output, or None when it is missing or refused to answer.
    """
    if ufw is not None and "Status: active" in ufw:
        return posture(ON, "ufw active")
    if nft is not None and any(line.strip().startswith("chain ") for line in nft.splitlines()):
        rules = [
            line
            for line in nft.splitlines()
            if line.strip() and not line.strip().startswith(("table ", "chain ", "type ", "}"))
        ]
        if rules:
            return posture(ON, f"nftables: {len(rules)} rules")
    if iptables is not None:
        rules = [line for line in iptables.splitlines() if line.startswith("-A ")]
        if rules:
            return posture(ON, f"iptables: {len(rules)} rules")
    if nft is None and ufw is None and iptables is None:
        return posture(UNKNOWN, "no nftables, ufw or iptables found, or none would answer")
    return posture(OFF, "no active firewall rules")


def security_posture(runner: Runner) -> dict[str, Any]:
    def output(args: list[str]) -> str | None:
        if shutil.which(args[0]) is None:
            return None
        result = runner(args)
        return result.stdout if result.returncode == 0 else None

    lsblk = output(["lsblk", "-J", "-o", "NAME,TYPE,MOUNTPOINT,FSTYPE"])
    antimalware = posture(UNKNOWN, "no known anti-malware found")
    for program in ("clamd", "freshclam", "falcon-sensor", "mdatp"):
        if shutil.which(program):
            antimalware = posture(ON, f"{program} installed")
            break
    return {
        "disk_encryption": parse_lsblk(lsblk) if lsblk is not None else posture(UNKNOWN),
        "firewall": firewall_from_outputs(
            nft=output(["nft", "list", "ruleset"]),
            ufw=output(["ufw", "status"]),
            iptables=output(["iptables", "-S"]),
        ),
        # The agent does not read desktop lock settings yet; a server has no screen at all.
        "screen_lock": posture(UNKNOWN, "screen lock is not read on Linux"),
        "antimalware": antimalware,
    }
