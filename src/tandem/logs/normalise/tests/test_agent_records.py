"""What the agent forwards (decision 0047) normalises into the shapes Sigma rules read:
``journalctl -o json`` entries and file-tail lines into Linux/ECS events with their Sigma
log source, and rendered Windows event XML (converted by the agent) into
``Event.System`` / ``Event.EventData``. The inputs are the agent's own recorded samples,
read through the agent's own readers, so the two halves are tested against each other."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tandem.logs.normalise import normalise_event
from tandem.logs.normalise.tests.test_normalise import assert_contract
from tandem_agent.logs.journald import parse_entries
from tandem_agent.logs.windows import events_from_xml

AGENT_DATA = Path(__file__).resolve().parents[5] / "agent" / "tests" / "data"
RECEIVED = dt.datetime(2024, 12, 6, 10, 0, tzinfo=dt.UTC)


def journal() -> list[dict]:
    lines = (AGENT_DATA / "journalctl-o-json-debian12.jsonl").read_text().splitlines()
    entries, _ = parse_entries(lines, limit=100)
    events = [normalise_event(e, received_at=RECEIVED) for e in entries]
    for event in events:
        assert_contract(event)
    return events


def test_journald_sshd_failure_is_an_sshd_authentication_failure():
    failed, closed, *_ = journal()
    assert failed["_logsource"] == {"product": "linux", "category": None, "service": "sshd"}
    assert failed["_host"] == "web01"
    assert failed["_time"] == "2024-12-06T09:40:00.122987Z"  # the program's own time
    assert failed["message"] == "Failed password for root from 203.0.113.9 port 51022 ssh2"
    assert failed["user"] == {"name": "root", "id": "0"}
    assert failed["source"] == {"ip": "203.0.113.9", "port": 51022}
    assert failed["event"]["outcome"] == "failure"
    assert failed["process"] == {
        "name": "sshd",
        "pid": 48213,
        "executable": "/usr/sbin/sshd",
        "command_line": "sshd: root [priv]",
    }
    assert failed["log"]["syslog"]["facility"] == {"code": 4, "name": "auth"}
    assert failed["systemd"] == {"unit": "ssh.service"}
    assert closed["_logsource"]["service"] == "sshd" and "event" not in closed


def test_journald_sudo_systemd_and_binary_messages():
    _, _, sudo, session, systemd, binary = journal()
    assert sudo["_logsource"]["service"] == "sudo"
    assert sudo["user"]["name"] == "alice" and sudo["user"]["effective"] == {"name": "root"}
    assert sudo["sudo"]["command"] == "/usr/bin/apt-get update"
    assert session["_logsource"]["service"] == "sudo"
    assert systemd["_logsource"]["service"] == "syslog"
    assert systemd["message"].startswith("Finished apt-daily.service")
    assert systemd["log"]["syslog"]["facility"]["name"] == "daemon"
    assert binary["message"] == "copying /etc/shadow\x1b[0m"
    # No `_SOURCE_REALTIME_TIMESTAMP`: journald's receive time.
    assert binary["_time"] == "2024-12-06T09:41:20.136935Z"


def test_file_tail_lines_take_the_agents_host_when_the_line_names_none():
    record = {
        "syslog": "Dec  6 09:40:00 web01 sshd[48213]: Failed password for invalid user admin "
        "from 198.51.100.7 port 40022 ssh2",
        "path": "/var/log/auth.log",
        "hostname": "agent-host",
    }
    event = normalise_event(record, received_at=RECEIVED)
    assert_contract(event)
    assert event["_logsource"]["service"] == "sshd" and event["_host"] == "web01"
    assert event["user"]["name"] == "admin" and event["event"]["outcome"] == "failure"
    assert event["log"]["file"] == {"path": "/var/log/auth.log"}
    assert event["log"]["syslog"]["facility"]["name"] == "authpriv"
    # An ISO-timestamped line without a host (rsyslog's high-precision format, some apps).
    bare = normalise_event(
        {
            "syslog": "2024-12-06T09:41:00.5+00:00 su[77]: (to root) alice on pts/1",
            "path": "/var/log/secure",
            "hostname": "agent-host",
        },
        received_at=RECEIVED,
    )
    assert bare["_host"] == "agent-host" and bare["_logsource"]["service"] == "auth"
    plain = normalise_event(
        {
            "syslog": "kernel oops without any header",
            "path": "/var/log/syslog",
            "hostname": "agent-host",
        },
        received_at=RECEIVED,
    )
    assert plain["message"] == "kernel oops without any header"
    assert plain["_logsource"] == {"product": "linux", "category": None, "service": "syslog"}


def test_windows_events_the_agent_converted_get_their_sigma_log_sources():
    security = (AGENT_DATA / "wevtutil-qe-security-renderedxml.xml").read_text()
    sysmon = (AGENT_DATA / "wevtutil-qe-sysmon-renderedxml.xml").read_text()
    # Through JSON, as they travel.
    events = [
        normalise_event(json.loads(json.dumps(e)), received_at=RECEIVED)
        for e in events_from_xml(security) + events_from_xml(sysmon)
    ]
    for event in events:
        assert_contract(event)
    logon, failed, process, sysmon_process, network = events
    assert logon["_logsource"] == {"product": "windows", "category": None, "service": "security"}
    assert logon["Event"]["System"]["EventID"] == 4624
    assert logon["_host"] == "WS-0142.corp.example.com"
    assert logon["_time"] == "2024-12-06T09:41:12.553117Z"
    assert failed["Event"]["EventData"]["TargetUserName"] == "Administrator"
    assert process["_logsource"]["category"] == "process_creation"
    assert process["Event"]["EventData"]["Image"] == r"C:\Windows\System32\whoami.exe"
    assert sysmon_process["_logsource"] == {
        "product": "windows",
        "category": "process_creation",
        "service": "sysmon",
    }
    assert network["_logsource"]["category"] == "network_connection"
    assert network["Event"]["EventData"]["DestinationIp"] == "203.0.113.50"
