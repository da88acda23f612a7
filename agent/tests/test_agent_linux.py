"""Linux facts both Linux backends share: accounts, disk encryption, firewall."""

from __future__ import annotations

import json

from tandem_agent.backends.linux import (
    firewall_from_outputs,
    parse_accounts,
    parse_login_defs,
    parse_lsblk,
)

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
bob:x:1001:1001:Bob,,,:/home/bob:/bin/zsh
carol:x:1002:10:Carol:/home/carol:/bin/bash
"""
GROUP = """root:x:0:
sudo:x:27:alice
wheel:x:10:
adm:x:4:bob
alice:x:1000:
bob:x:1001:
"""


def test_administrators_are_root_and_members_of_sudo_admin_or_wheel():
    accounts = {a["name"]: a for a in parse_accounts(PASSWD, GROUP)}
    assert {name for name, a in accounts.items() if a["admin"]} == {"root", "alice", "carol"}
    assert accounts["carol"]["admin"]  # wheel as primary group
    assert not accounts["bob"]["admin"]  # adm reads logs; it is not an admin group
    assert accounts["bob"]["groups"] == ["adm"]
    assert {n for n, a in accounts.items() if a["kind"] == "user"} == {
        "root",
        "alice",
        "bob",
        "carol",
    }
    assert accounts["nobody"]["kind"] == "system"
    assert accounts["daemon"]["login_shell"] is False
    assert accounts["bob"]["login_shell"] is True


def test_uid_min_comes_from_login_defs():
    assert parse_login_defs("UID_MIN\t\t\t 500\n#UID_MAX 60000\n") == 500
    assert parse_login_defs("") == 1000
    accounts = {a["name"]: a for a in parse_accounts(PASSWD, GROUP, uid_min=1002)}
    assert accounts["alice"]["kind"] == "system"


def _lsblk(*devices):
    return json.dumps({"blockdevices": list(devices)})


def test_root_on_dm_crypt_is_encrypted():
    text = _lsblk(
        {
            "name": "nvme0n1",
            "type": "disk",
            "mountpoint": None,
            "children": [
                {"name": "nvme0n1p1", "type": "part", "mountpoint": "/boot/efi"},
                {
                    "name": "nvme0n1p3",
                    "type": "part",
                    "mountpoint": None,
                    "children": [
                        {
                            "name": "nvme0n1p3_crypt",
                            "type": "crypt",
                            "mountpoint": None,
                            "children": [{"name": "vg-root", "type": "lvm", "mountpoint": "/"}],
                        }
                    ],
                },
            ],
        }
    )
    assert parse_lsblk(text)["state"] == "on"


def test_plain_root_partial_and_unknown_disk_encryption():
    assert parse_lsblk(_lsblk({"name": "vda", "type": "disk", "mountpoint": "/"}))["state"] == "off"
    partial = _lsblk(
        {"name": "sda", "type": "disk", "mountpoint": "/"},
        {
            "name": "sdb",
            "type": "disk",
            "children": [{"name": "data", "type": "crypt", "mountpoint": "/srv"}],
        },
    )
    assert parse_lsblk(partial)["state"] == "partial"
    # Newer lsblk prints "mountpoints": [...].
    assert (
        parse_lsblk(_lsblk({"name": "sda", "type": "disk", "mountpoints": ["/"]}))["state"] == "off"
    )
    assert parse_lsblk(_lsblk({"name": "loop0", "type": "loop"}))["state"] == "unknown"
    assert parse_lsblk("not json")["state"] == "unknown"


NFT_RULES = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 accept
	}
}
"""
NFT_EMPTY = """table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
"""


def test_firewall_on_off_or_unknown():
    assert firewall_from_outputs(nft=NFT_RULES, ufw=None, iptables=None) == {
        "state": "on",
        "detail": "nftables: 3 rules",
    }
    assert firewall_from_outputs(nft=None, ufw="Status: active\n", iptables=None)["state"] == "on"
    assert (
        firewall_from_outputs(
            nft=None, ufw=None, iptables="-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"
        )["state"]
        == "on"
    )
    assert (
        firewall_from_outputs(
            nft=NFT_EMPTY, ufw="Status: inactive\n", iptables="-P INPUT ACCEPT\n"
        )["state"]
        == "off"
    )
    assert firewall_from_outputs(nft=None, ufw=None, iptables=None)["state"] == "unknown"
