"""Normalisation into the shapes Sigma rules read, on realistic samples (tests/data)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tandem.logs.normalise import (
    NormaliseError,
    from_journald,
    from_syslog,
    from_windows,
    normalise_event,
    parse_auditd,
)
from tandem.logs.syslog.parse import SyslogMessage, parse_syslog

DATA = Path(__file__).parent / "data"
RECEIVED = dt.datetime(2024, 3, 12, 22, 30, tzinfo=dt.UTC)


def sample(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def syslog_lines() -> list[dict]:
    events = []
    for line in (DATA / "syslog_lines.log").read_text().splitlines():
        parsed = parse_syslog(line, received_at=RECEIVED)
        assert isinstance(parsed, SyslogMessage)
        events.append(from_syslog(parsed, sender="192.0.2.10:514"))
    return events


def assert_contract(event: dict) -> None:
    """Plan contract 1: reserved keys present, JSON-able, time in UTC."""
    assert set(event["_logsource"]) == {"product", "category", "service"}
    assert isinstance(event["_host"], str)
    assert event["_time"].endswith("Z")
    json.dumps(event)


# --- Windows ------------------------------------------------------------------------------


def test_sysmon_process_creation_from_evtx_json():
    event = from_windows(sample("sysmon_1_process_creation.json"))
    assert_contract(event)
    assert event["_logsource"] == {
        "product": "windows",
        "category": "process_creation",
        "service": "sysmon",
    }
    system, data = event["Event"]["System"], event["Event"]["EventData"]
    assert system["EventID"] == 1
    assert system["Provider"]["Name"] == "Microsoft-Windows-Sysmon"
    assert system["Execution"] == {"ProcessID": "3312", "ThreadID": "4420"}
    assert data["Image"].endswith("\\powershell.exe")
    assert data["ParentImage"].endswith("\\WINWORD.EXE")
    assert data["CommandLine"].startswith("powershell.exe -nop -w hidden -enc ")
    assert event["_host"] == "WS-FIN-042.corp.example.com"
    assert event["_time"] == "2024-03-12T09:41:07.478123Z"  # seven fraction digits cut to six


def test_security_4625_with_eventdata_as_a_list_of_pairs():
    event = from_windows(sample("security_4625_logon_failure.json"))
    assert_contract(event)
    assert event["_logsource"] == {"product": "windows", "category": None, "service": "security"}
    system, data = event["Event"]["System"], event["Event"]["EventData"]
    assert system["EventID"] == 4625  # {"#text": "4625", "@Qualifiers": ""} -> 4625
    assert data["TargetUserName"] == "administrator"
    assert data["IpAddress"] == "198.51.100.23"
    assert data["LogonType"] == "3"
    assert data["ExtraField"] == ""  # an empty <Data Name="ExtraField"/>
    assert event["_time"] == "2024-03-12T22:03:51.912735Z"  # python-evtx's zone-less time


def test_winlogbeat_4688_becomes_event_system_and_gets_sysmon_names():
    event = from_windows(sample("winlogbeat_4688_process_creation.json"))
    assert_contract(event)
    assert event["_logsource"] == {
        "product": "windows",
        "category": "process_creation",
        "service": "security",
    }
    system, data = event["Event"]["System"], event["Event"]["EventData"]
    assert system["EventID"] == 4688 and system["Channel"] == "Security"
    assert system["Provider"]["Name"] == "Microsoft-Windows-Security-Auditing"
    assert system["Computer"] == "SRV-APP-07.corp.example.com"  # not the WEF collector
    assert system["EventRecordID"] == 5521983
    assert data["Image"] == data["NewProcessName"] == "C:\\Windows\\System32\\certutil.exe"
    assert data["ParentImage"] == "C:\\Windows\\System32\\cmd.exe"
    assert "-urlcache" in data["CommandLine"]
    assert event["_time"] == "2024-03-12T10:15:30.128000Z"


@pytest.mark.parametrize(
    ("channel", "event_id", "event_type", "expected"),
    [
        ("Microsoft-Windows-PowerShell/Operational", 4104, "", ("powershell", "ps_script")),
        ("Microsoft-Windows-PowerShell/Operational", 4103, "", ("powershell", "ps_module")),
        ("Windows PowerShell", 400, "", ("powershell-classic", "ps_classic_start")),
        ("Microsoft-Windows-Sysmon/Operational", 3, "", ("sysmon", "network_connection")),
        ("Microsoft-Windows-Sysmon/Operational", 12, "CreateKey", ("sysmon", "registry_add")),
        ("Microsoft-Windows-Sysmon/Operational", 12, "DeleteKey", ("sysmon", "registry_delete")),
        ("Microsoft-Windows-Sysmon/Operational", 13, "SetValue", ("sysmon", "registry_set")),
        ("Microsoft-Windows-Sysmon/Operational", 22, "", ("sysmon", "dns_query")),
        ("Microsoft-Windows-Windows Defender/Operational", 1116, "", ("windefend", None)),
        ("microsoft-windows-taskscheduler/operational", 106, "", ("taskscheduler", None)),
        ("System", 7045, "", ("system", None)),
        ("Some-Vendor/Operational", 1, "", (None, None)),
    ],
)
def test_windows_channels_and_event_ids_map_to_sigma_log_sources(
    channel, event_id, event_type, expected
):
    raw = {
        "@timestamp": "2024-03-12T10:00:00Z",
        "winlog": {
            "channel": channel,
            "event_id": event_id,
            "computer_name": "h",
            "event_data": {"EventType": event_type} if event_type else {},
        },
    }
    event = from_windows(raw)
    assert (event["_logsource"]["service"], event["_logsource"]["category"]) == expected
    assert event["_logsource"]["product"] == "windows"


def test_classic_powershell_unnamed_data_is_kept_as_data():
    raw = {
        "@timestamp": "2024-03-12T10:00:00Z",
        "winlog": {
            "channel": "Windows PowerShell",
            "event_id": 400,
            "computer_name": "h",
            "event_data": {
                "param1": "Available",
                "param2": "None",
                "param3": "NewEngineState=Available\n\tHostApplication=powershell -enc ZQBj",
            },
        },
    }
    data = from_windows(raw)["Event"]["EventData"]
    assert data["Data"][0] == "Available" and "HostApplication=powershell" in data["Data"][2]


def test_rendered_event_xml():
    xml = (
        '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
        '<Provider Name="Microsoft-Windows-Security-Auditing" Guid="{5484}"/>'
        "<EventID>4625</EventID><Channel>Security</Channel><Computer>DC01</Computer>"
        '<TimeCreated SystemTime="2024-03-12T22:03:51.9127350Z"/></System><EventData>'
        '<Data Name="TargetUserName">administrator</Data><Data Name="IpAddress">'
        "198.51.100.23</Data></EventData></Event>"
    )
    event = normalise_event({"xml": xml})
    assert event["Event"]["System"]["EventID"] == 4625
    assert event["Event"]["EventData"]["TargetUserName"] == "administrator"
    assert event["_logsource"]["service"] == "security" and event["_host"] == "DC01"


def test_xml_with_a_dtd_is_refused():
    xml = '<!DOCTYPE x [<!ENTITY a "aaaa">]><Event><System/></Event>'
    with pytest.raises(NormaliseError, match="DTD"):
        normalise_event({"xml": xml})


# --- Linux syslog ------------------------------------------------------------------------


def test_sshd_failed_password():
    event = syslog_lines()[0]
    assert_contract(event)
    assert event["_logsource"] == {"product": "linux", "category": None, "service": "sshd"}
    assert event["process"] == {"name": "sshd", "pid": 20311}
    assert event["host"] == {"hostname": "web01"} and event["_host"] == "web01"
    assert event["user"]["name"] == "oracle"
    assert event["source"] == {"ip": "203.0.113.9", "port": 52113}
    assert event["event"]["outcome"] == "failure"
    assert event["log"]["syslog"]["facility"] == {"code": 4, "name": "auth"}
    assert event["log"]["syslog"]["severity"] == {"code": 6, "name": "info"}
    assert event["log"]["source"] == {"address": "192.0.2.10:514"}
    assert event["message"].startswith("Failed password for invalid user oracle")
    assert event["_time"] == "2024-03-12T22:03:51.000000Z"


def test_sudo_command_and_refusal():
    ran, refused = syslog_lines()[1:3]
    assert ran["_logsource"]["service"] == "sudo"
    assert ran["user"] == {"name": "alice", "effective": {"name": "root"}}
    assert ran["sudo"]["command"] == "/usr/bin/cat /etc/shadow"
    assert ran["event"]["outcome"] == "success"
    assert refused["user"]["name"] == "bob" and refused["event"]["outcome"] == "failure"


def test_auditd_records_become_top_level_fields():
    execve, syscall = syslog_lines()[3:5]
    assert execve["_logsource"]["service"] == "auditd"
    assert (execve["type"], execve["a0"], execve["a1"]) == ("EXECVE", "cat", "/etc/shadow")
    assert execve["a2"] == "/tmp/my file"  # hex-encoded because of the space
    assert execve["_time"] == "2024-03-12T21:07:00.512000Z"  # the 5424 offset applied
    assert syscall["_logsource"]["service"] == "auditd"
    assert (syscall["type"], syscall["comm"], syscall["exe"]) == (
        "SYSCALL",
        "split",
        "/usr/bin/split",
    )
    assert syscall["key"] == "susp_activity"
    assert syscall["a0"] == "55d0c3e8"  # syscall arguments are numbers: not decoded


def test_auditd_user_record_opens_the_nested_msg():
    fields = parse_auditd(
        "type=USER_CMD msg=audit(1710277620.510:8813): pid=1 uid=1000 auid=1000 "
        'msg=\'cwd="/home/alice" cmd=636174202F6574632F736861646F77 exe="/usr/bin/sudo" '
        "terminal=pts/1 res=success'"
    )
    assert fields is not None
    assert fields["type"] == "USER_CMD"
    assert fields["cmd"] == "cat /etc/shadow" and fields["exe"] == "/usr/bin/sudo"
    assert fields["res"] == "success"
    assert parse_auditd("not an audit line") is None


def test_linux_services_by_program_and_facility():
    events = syslog_lines()
    assert events[5]["_logsource"]["service"] == "auth"  # useradd on authpriv
    assert "new user" in events[5]["message"] and "UID=0," in events[5]["message"]
    assert events[6]["_logsource"]["service"] == "cron"  # crontab REPLACE
    assert events[7]["_logsource"]["service"] == "syslog"  # systemd on daemon
    assert "Stopping firewalld" in events[7]["message"]


def test_sysmon_for_linux_xml_in_syslog():
    event = syslog_lines()[8]
    assert event["_logsource"] == {
        "product": "linux",
        "category": "process_creation",
        "service": None,
    }
    data = event["Event"]["EventData"]
    assert data["Image"] == "/usr/bin/base64" and data["CommandLine"] == "base64 -d /tmp/x.b64"
    assert event["Event"]["System"]["EventID"] == 1


def test_missing_hostname_falls_back_to_the_sender_address():
    parsed = parse_syslog("<13>Mar 12 22:00:00 app: hi", received_at=RECEIVED)
    assert isinstance(parsed, SyslogMessage)
    assert from_syslog(parsed, sender="[2001:db8::7]:5514")["_host"] == "2001:db8::7"
    assert from_syslog(parsed, sender="192.0.2.4:514")["_host"] == "192.0.2.4"


def test_rfc5424_structured_data_and_invalid_utf8_tag():
    parsed = parse_syslog(
        '<165>1 2024-03-12T22:14:15.003Z fw01 evntslog - ID47 [origin@32473 ip="10.0.0.1"] x',
        received_at=RECEIVED,
    )
    assert isinstance(parsed, SyslogMessage)
    event = from_syslog(parsed, invalid_utf8=True)
    syslog = event["log"]["syslog"]
    assert syslog["structured_data"] == {"origin@32473": {"ip": "10.0.0.1"}}
    assert (syslog["msgid"], syslog["version"], syslog["priority"]) == ("ID47", "1", 165)
    assert event["tags"] == ["invalid_utf8"]


# --- journald ----------------------------------------------------------------------------


def test_journald_sshd_entry():
    event = from_journald(sample("journald_sshd.json"))
    assert_contract(event)
    assert event["_logsource"] == {"product": "linux", "category": None, "service": "sshd"}
    assert event["_time"] == "2024-03-12T10:20:07.123456Z"
    assert event["process"] == {
        "name": "sshd",
        "pid": 20311,
        "executable": "/usr/sbin/sshd",
        "command_line": "sshd: root [priv]",
    }
    assert event["user"] == {"id": "0", "name": "root"}
    assert event["systemd"] == {"unit": "ssh.service"}
    assert event["log"]["syslog"]["facility"]["name"] == "auth"
    assert event["source"]["ip"] == "203.0.113.9"


def test_journald_binary_message_and_audit_transport():
    event = from_journald(
        {
            "__REALTIME_TIMESTAMP": "1710238807000000",
            "_TRANSPORT": "audit",
            "_AUDIT_TYPE_NAME": "EXECVE",
            "_HOSTNAME": "web01",
            "MESSAGE": list(b'argc=2 a0="nc" a1="-lvp"'),
        }
    )
    assert event["_logsource"]["service"] == "auditd"
    assert (event["type"], event["a0"], event["a1"]) == ("EXECVE", "nc", "-lvp")


# --- the dispatcher ----------------------------------------------------------------------


def test_normalise_event_recognises_each_shape():
    assert normalise_event(sample("journald_sshd.json"))["_logsource"]["service"] == "sshd"
    assert (
        normalise_event(sample("security_4625_logon_failure.json"))["_host"]
        == "DC01.corp.example.com"
    )
    line = {
        "syslog": "<38>Mar 12 22:03:51 web01 sshd[1]: "
        "Accepted publickey for a from 192.0.2.4 port 5 ssh2"
    }
    event = normalise_event(line, received_at=RECEIVED)
    assert event["event"]["outcome"] == "success"
    assert normalise_event(event) == event  # already normalised: unchanged


def test_a_line_from_auth_log_is_authpriv():
    line = "Mar 12 22:07:30 web01 useradd[1402]: new user: name=x, UID=0, GID=0, home=/root"
    event = normalise_event({"syslog": line, "path": "/var/log/auth.log"}, received_at=RECEIVED)
    assert event["_logsource"]["service"] == "auth"
    assert event["log"]["syslog"]["facility"]["name"] == "authpriv"
    assert event["log"]["file"] == {"path": "/var/log/auth.log"}
    assert event["_host"] == "web01" and event["_time"] == "2024-03-12T22:07:30.000000Z"
    plain = normalise_event({"syslog": line, "path": "/var/log/syslog"}, received_at=RECEIVED)
    assert plain["_logsource"]["service"] == "syslog"


@pytest.mark.parametrize(
    "raw", [[1, 2], "text", {"foo": 1}, {"syslog": ""}, {"Event": {"System": "x"}}]
)
def test_unknown_shapes_are_refused_with_a_reason(raw):
    with pytest.raises(NormaliseError):
        normalise_event(raw, received_at=RECEIVED)
