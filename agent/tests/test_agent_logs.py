"""Log forwarding (decision 0047): files tailed across restarts and rotations, journald and
Windows events read from recorded real-format outputs, the durable queue, and what the
forwarder does with each answer of ``/ingest/v1/events``."""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from agent_support import DATA, RecordedRunner, recorded
from tandem_agent import protocol
from tandem_agent.backends.base import CommandResult
from tandem_agent.cli import main
from tandem_agent.client import Revoked, TransportError
from tandem_agent.logs.base import ReadResult, SourceError, SourceUnavailable
from tandem_agent.logs.config import ConfigError, LogConfig, load_config
from tandem_agent.logs.files import MAX_LINE_BYTES, FileTail
from tandem_agent.logs.forward import Forwarder, RateCap, bounded, build_sources
from tandem_agent.logs.journald import JournaldSource, journald_available, parse_entries
from tandem_agent.logs.queue import EventQueue
from tandem_agent.logs.windows import EventXmlError, WindowsEventSource, events_from_xml
from tandem_agent.state import Enrolment, StateDir

# --- files --------------------------------------------------------------------------------


def append(path: Path, *lines: str, end: str = "\n") -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in lines[:-1]) + lines[-1] + end)


def drain(tail: FileTail, queue: EventQueue) -> list[str]:
    """Read until the source says nothing more, queuing as the forwarder does."""
    lines: list[str] = []
    while True:
        result = tail.read(queue.position(tail.name), max_records=3)
        queue.put(tail.name, result.records, result.position)
        lines += [r["syslog"] for r in result.records]
        if not result.more:
            return lines


def started(tmp_path: Path, name: str, queue: EventQueue) -> tuple[Path, FileTail]:
    """An empty log file the agent has already looked at once."""
    log = tmp_path / name
    log.write_text("")
    tail = FileTail(str(log), hostname="web01")
    assert drain(tail, queue) == []
    return log, tail


@pytest.fixture
def queue(tmp_path: Path) -> EventQueue:
    events = EventQueue(tmp_path / "state" / "events.sqlite3")
    yield events
    events.close()


def test_a_file_is_followed_from_its_end_and_never_read_twice_across_restarts(tmp_path, queue):
    log = tmp_path / "auth.log"
    append(log, "Dec  6 09:00:00 web01 sshd[1]: old line from before the agent")
    tail = FileTail(str(log), hostname="web01")
    assert drain(tail, queue) == []  # history is not shipped
    append(log, "Dec  6 09:40:00 web01 sshd[2]: Failed password for root", "second")
    assert drain(tail, queue) == [
        "Dec  6 09:40:00 web01 sshd[2]: Failed password for root",
        "second",
    ]
    # A half-written line waits for its newline.
    append(log, "third, half", end="")
    assert drain(tail, queue) == []
    append(log, " written")
    # A new process (a restart) starts from the queued position.
    assert drain(FileTail(str(log), hostname="web01"), queue) == ["third, half written"]
    assert drain(FileTail(str(log), hostname="web01"), queue) == []
    records = queue.oldest(max_records=10, max_bytes=1 << 20)
    assert [json.loads(r.line) for r in records][0] == {
        "syslog": "Dec  6 09:40:00 web01 sshd[2]: Failed password for root",
        "path": str(log),
        "hostname": "web01",
    }


def test_rename_rotation_reads_the_old_file_to_its_end_then_the_new_one(tmp_path, queue):
    log, tail = started(tmp_path, "auth.log", queue)
    append(log, "one", "two")
    assert drain(tail, queue) == ["one", "two"]
    append(log, "three", "four, never terminated", end="")
    log.rename(tmp_path / "auth.log.1")  # logrotate's rename...
    assert drain(tail, queue) == ["three", "four, never terminated"]  # (file not yet made)
    append(log, "five")  # ...and create
    append(tmp_path / "auth.log.1", "late line in the old file")
    assert drain(tail, queue) == ["five"]
    assert len(queue) == 5


def test_rotation_with_lines_left_in_both_files(tmp_path, queue):
    log, tail = started(tmp_path, "syslog", queue)
    append(log, "a", "b", "c", "d", "e")
    (tmp_path / "syslog").rename(tmp_path / "syslog.1")
    append(log, "f", "g")
    assert drain(tail, queue) == ["a", "b", "c", "d", "e", "f", "g"]


def test_copytruncate_starts_again_from_the_top(tmp_path, queue):
    log, tail = started(tmp_path, "messages", queue)
    append(log, "before truncation, a long line", "another")
    assert len(drain(tail, queue)) == 2
    with log.open("r+") as file:
        file.truncate(0)
    append(log, "after")
    assert drain(tail, queue) == ["after"]


def test_from_the_beginning_blank_lines_skipped_and_an_oversized_line_cut(tmp_path, queue):
    log = tmp_path / "secure"
    append(log, "first", "", "x" * (MAX_LINE_BYTES + 500), "last")
    lines = drain(FileTail(str(log), hostname="h", start_at_end=False), queue)
    assert lines[0] == "first" and lines[-1] == "last"
    assert len(lines) == 3 and len(lines[1]) == MAX_LINE_BYTES


def test_a_missing_file_is_followed_once_it_appears(tmp_path, queue):
    log = tmp_path / "auth.log"
    tail = FileTail(str(log), hostname="h")
    assert drain(tail, queue) == []
    append(log, "created after the agent started")
    assert drain(tail, queue) == ["created after the agent started"]


def test_a_path_that_cannot_be_read_is_a_source_error(tmp_path, queue):
    (tmp_path / "auth.log").mkdir()  # even root cannot read lines from a folder
    tail = FileTail(str(tmp_path / "auth.log"), hostname="h", start_at_end=False)
    with pytest.raises(SourceError, match="cannot read"):
        tail.read(None, max_records=10)


def test_a_failing_source_keeps_its_position_and_is_tried_again(tmp_path, caplog):
    class Flaky:
        name = "flaky"
        failures = 2

        def read(self, position, *, max_records):
            if self.failures:
                self.failures -= 1
                raise SourceError("journalctl failed (1): Failed to open journal")
            return ReadResult([{"MESSAGE": "back"}], {"cursor": "c2"})

    fwd = forwarder(tmp_path, Server())
    fwd.sources = [Flaky()]
    fwd.queue.put("flaky", [], {"cursor": "c1"})
    caplog.set_level(logging.WARNING, "tandem_agent")
    fwd.round()
    fwd.round()
    assert caplog.text.count("Failed to open journal") == 1
    assert fwd.queue.position("flaky") == {"cursor": "c1"}
    fwd.round()
    assert fwd.queue.position("flaky") == {"cursor": "c2"} and fwd.counters.sent == 1


def test_records_and_position_are_one_transaction(tmp_path, queue):
    queue.put("file:/x", [{"syslog": "a"}], {"inode": 1, "offset": 2})

    class Unencodable:
        pass

    with pytest.raises(TypeError):
        queue.put("file:/x", [{"syslog": Unencodable()}], {"inode": 1, "offset": 9})
    assert queue.position("file:/x") == {"inode": 1, "offset": 2}
    assert len(queue) == 1


# --- journald -----------------------------------------------------------------------------


def test_journalctl_output_is_read_in_bounded_batches_with_the_last_cursor():
    lines = recorded("journalctl-o-json-debian12.jsonl").splitlines()
    entries, cursor = parse_entries(lines, limit=4)
    assert [e.get("SYSLOG_IDENTIFIER") for e in entries] == ["sshd", "sshd", "sudo", "sudo"]
    assert cursor == json.loads(lines[3])["__CURSOR"]
    assert "__CURSOR" not in entries[0] and entries[0]["_EXE"] == "/usr/sbin/sshd"
    everything, last = parse_entries([*lines, "not json", "[1]"], limit=100)
    assert len(everything) == 6 and last == json.loads(lines[-1])["__CURSOR"]
    assert isinstance(everything[-1]["MESSAGE"], list)  # bytes, as journald wrote them


def test_journald_is_read_for_real_where_it_runs_and_skipped_saying_why_elsewhere(tmp_path, caplog):
    """Journald does not run in most containers: the source is left out with the plain
    reason, and the files are followed instead. Where it runs, it is read for real."""
    reason = journald_available()
    caplog.set_level(logging.WARNING, "tandem_agent")
    sources = build_sources(LogConfig(journald=True), hostname="h")
    names = [s.name for s in sources]
    if reason is not None:
        assert "journald" not in names
        assert f"log source journald skipped: {reason}" in caplog.text
        assert "file:/var/log/auth.log" in names  # auto: files where journald is absent
        return
    assert names[0] == "journald"
    source = JournaldSource()
    first = source.read(None, max_records=10)
    assert first.records == [] and first.position and first.position["cursor"]
    later = source.read(first.position, max_records=10)
    assert later.position is not None


def test_without_journalctl_the_source_is_unavailable(tmp_path):
    source = JournaldSource(program=str(tmp_path / "no-such-journalctl"))
    with pytest.raises(SourceUnavailable):
        source.read(None, max_records=1)


# --- Windows --------------------------------------------------------------------------------


def test_rendered_event_xml_becomes_the_evtx_json_shape():
    security = events_from_xml(recorded("wevtutil-qe-security-renderedxml.xml"))
    assert [e["Event"]["System"]["EventID"] for e in security] == ["4624", "4625", "4688"]
    logon = security[0]["Event"]
    assert logon["System"]["Provider"]["Name"] == "Microsoft-Windows-Security-Auditing"
    assert logon["System"]["TimeCreated"] == {"SystemTime": "2024-12-06T09:41:12.5531174Z"}
    assert logon["System"]["Computer"] == "WS-0142.corp.example.com"
    assert logon["EventData"]["LogonType"] == "10"
    assert logon["RenderingInfo"]["Keywords"] == {"Keyword": "Audit Success"}
    assert security[1]["Event"]["EventData"]["TargetDomainName"] == ""
    assert security[2]["Event"]["EventData"]["CommandLine"] == "whoami /priv"
    sysmon = events_from_xml(recorded("wevtutil-qe-sysmon-renderedxml.xml"))
    assert sysmon[0]["Event"]["EventData"]["Image"] == r"C:\Windows\System32\whoami.exe"
    assert sysmon[1]["Event"]["EventData"]["DestinationPort"] == "443"
    assert sysmon[1]["Event"]["System"]["Security"] == {"UserID": "S-1-5-18"}


def test_event_xml_with_a_dtd_or_broken_is_refused():
    with pytest.raises(EventXmlError):
        events_from_xml('<!DOCTYPE x [<!ENTITY a "b">]><Event/>')
    with pytest.raises(EventXmlError):
        events_from_xml("<Event><System>")
    assert events_from_xml("") == []


def test_a_channel_is_read_from_its_bookmark():
    security = recorded("wevtutil-qe-security-renderedxml.xml")
    newest = security.split("<Event ", 1)[0] + "<Event " + security.rsplit("<Event ", 1)[1]
    runner = RecordedRunner(
        {
            ("wevtutil", "qe", "Security", "/f:RenderedXml", "/e:Events", "/c:1"): CommandResult(
                0, newest
            ),
            ("wevtutil", "qe", "Security"): CommandResult(0, security),
        }
    )
    source = WindowsEventSource("Security", runner=runner)
    first = source.read(None, max_records=100)
    assert first.records == [] and first.position == {"record_id": 884213}
    later = source.read({"record_id": 884210}, max_records=100)
    assert len(later.records) == 3 and later.position == {"record_id": 884213}
    assert "/q:*[System[(EventRecordID>884210)]]" in runner.ran[-1]
    missing = WindowsEventSource(
        "Microsoft-Windows-Sysmon/Operational",
        runner=lambda args: CommandResult(15007, "", "The specified channel could not be found."),
    )
    with pytest.raises(SourceUnavailable, match="could not be found"):
        missing.read(None, max_records=1)


# --- settings ---------------------------------------------------------------------------------


def test_settings_default_and_refuse_unknown_keys(tmp_path):
    assert load_config(tmp_path / "logs.json") == LogConfig()
    (tmp_path / "logs.json").write_text(json.dumps({"paths": ["/tmp/x"], "files": True}))
    assert load_config(tmp_path / "logs.json").paths == ["/tmp/x"]
    for bad in ({"pathz": []}, {"files": "yes"}, {"batch_records": 0}, {"start_at": "now"}):
        (tmp_path / "logs.json").write_text(json.dumps(bad))
        with pytest.raises(ConfigError):
            load_config(tmp_path / "logs.json")


# --- forwarding -------------------------------------------------------------------------------


class Server:
    """Answers each request with the next planned status, recording what it took."""

    def __init__(self, *answers: tuple[int, dict[str, Any], dict[str, str]] | str) -> None:
        self.answers = list(answers)
        self.requests: list[protocol.HttpRequest] = []
        self.taken: list[dict[str, Any]] = []

    def send(self, request: protocol.HttpRequest) -> protocol.HttpResponse:
        self.requests.append(request)
        lines = gzip.decompress(request.body).decode().splitlines()
        answer = self.answers.pop(0) if self.answers else (200, {}, {})
        if answer == "down":
            raise TransportError("connection refused")
        assert not isinstance(answer, str)
        status, body, headers = answer
        if status == 200:
            self.taken += [json.loads(line) for line in lines]
            body = {"accepted": len(lines), "refused": {}, **body}
        elif status == 429 and body.get("accepted"):
            self.taken += [json.loads(line) for line in lines[: body["accepted"]]]
        return protocol.HttpResponse(status, headers, json.dumps(body).encode())


def forwarder(tmp_path: Path, server: Server, **settings: Any) -> Forwarder:
    state = StateDir(tmp_path / "state")
    state.save_enrolment(Enrolment(server="http://127.0.0.1:1", device_id="7"))
    state.save_credential("dev_secret")
    log = tmp_path / "auth.log"
    log.touch()
    config = LogConfig(**({"batch_records": 4} | settings))
    return Forwarder(
        state=state,
        queue=EventQueue(state.events_path),
        sources=[FileTail(str(log), hostname="web01")],
        config=config,
        transport=server,
        sleep=lambda seconds: None,
    )


def write_lines(tmp_path: Path, count: int, start: int = 0) -> None:
    append(tmp_path / "auth.log", *(f"line {i}" for i in range(start, start + count)))


def sent_lines(server: Server) -> list[str]:
    return [r["syslog"] for r in server.taken]


def test_batches_go_as_gzip_ndjson_with_the_device_credential(tmp_path):
    server = Server()
    fwd = forwarder(tmp_path, server)
    fwd.round()
    write_lines(tmp_path, 10)
    outcome = fwd.round()
    assert (outcome.sent, outcome.failed) == (10, False)
    assert sent_lines(server) == [f"line {i}" for i in range(10)]
    request = server.requests[0]
    assert request.url == "http://127.0.0.1:1/ingest/v1/events"
    assert request.headers["Authorization"] == "Bearer dev_secret"
    assert request.headers["Content-Encoding"] == "gzip"
    assert len(server.requests) == 3  # 4 + 4 + 2
    assert len(fwd.queue) == 0


def test_nothing_is_lost_while_the_server_is_down_and_nothing_sent_twice(tmp_path):
    server = Server("down", (503, {"detail": "starting"}, {}))
    fwd = forwarder(tmp_path, server)
    fwd.round()
    write_lines(tmp_path, 6)
    assert fwd.round().failed
    assert fwd.round().failed
    assert len(fwd.queue) == 6 and server.taken == []
    assert fwd.state.status().extra["logs_last_error"].startswith("events refused: starting")
    # A restart: a new forwarder on the same state reads nothing again and sends the queue.
    fwd.queue.close()
    again = forwarder(tmp_path, server)
    write_lines(tmp_path, 2, start=6)
    assert again.round().sent == 8
    assert sent_lines(server) == [f"line {i}" for i in range(8)]


def test_429_keeps_what_the_server_did_not_take_and_waits_as_asked(tmp_path):
    server = Server((429, {"accepted": 3, "detail": "busy"}, {"Retry-After": "7"}))
    fwd = forwarder(tmp_path, server)
    fwd.round()
    write_lines(tmp_path, 4)
    outcome = fwd.round()
    assert outcome.failed and outcome.retry_after == 7 and outcome.sent == 3
    assert len(fwd.queue) == 1
    fwd.round()
    assert sent_lines(server) == ["line 0", "line 1", "line 2", "line 3"]


def test_413_halves_the_batch_and_refused_lines_are_counted_not_retried(tmp_path):
    server = Server(
        (413, {"detail": "too big"}, {}),
        (200, {"refused": {"oversized_line": {"count": 1, "lines": [2]}}}, {}),
    )
    fwd = forwarder(tmp_path, server)
    fwd.round()
    write_lines(tmp_path, 4)
    outcome = fwd.round()
    assert [len(gzip.decompress(r.body).splitlines()) for r in server.requests] == [4, 2, 2]
    assert (outcome.sent, outcome.dropped, len(fwd.queue)) == (3, 1, 0)
    assert fwd.state.status().extra["logs_dropped"] == {"oversized_line": 1}


def test_a_revoked_device_stops_and_keeps_its_queue(tmp_path):
    fwd = forwarder(tmp_path, Server((401, {"code": "revoked", "detail": "revoked"}, {})))
    fwd.round()
    write_lines(tmp_path, 2)
    with pytest.raises(Revoked):
        fwd.round()
    assert len(fwd.queue) == 2


def test_a_full_queue_stops_the_sources_without_moving_their_positions(tmp_path):
    fwd = forwarder(tmp_path, Server(*["down"] * 5), queue_max_records=5)
    fwd.round()
    write_lines(tmp_path, 12)
    fwd.round()
    assert len(fwd.queue) == 5
    fwd.round()
    assert len(fwd.queue) == 5
    fwd.transport = server = Server()
    for _ in range(3):
        fwd.round()
    assert sent_lines(server) == [f"line {i}" for i in range(12)]


def test_the_rate_cap_spreads_sending_out():
    now = [0.0]
    cap = RateCap(100, burst=100, clock=lambda: now[0])
    assert cap.wait_for(100) == 0
    assert cap.wait_for(50) == pytest.approx(0.5)
    now[0] += 1.5
    assert cap.wait_for(100) == 0


def test_an_oversized_record_is_cut_to_fit_never_dropped():
    record = bounded({"MESSAGE": "m" * 300_000, "_PID": "1"}, limit=10_000)
    assert record["_truncated"] is True and record["_PID"] == "1"
    assert len(json.dumps(record)) <= 10_000
    assert bounded({"syslog": "short"}) == {"syslog": "short"}


def test_recorded_data_is_present():
    assert (DATA / "journalctl-o-json-debian12.jsonl").exists()
    assert os.path.getsize(DATA / "wevtutil-qe-sysmon-renderedxml.xml") > 1000


# --- the command --------------------------------------------------------------------------------


def test_logs_command_refuses_bad_settings_and_an_unenrolled_agent(tmp_path, capsys):
    state = tmp_path / "state"
    assert main(["--state-dir", str(state), "logs", "--once"]) == 3
    StateDir(state).save_enrolment(Enrolment(server="http://127.0.0.1:1", device_id="7"))
    StateDir(state).save_credential("dev_secret")
    (state / "logs.json").write_text('{"files": "sometimes"}')
    assert main(["--state-dir", str(state), "logs", "--once"]) == 2
    assert 'files is true, false or "auto"' in capsys.readouterr().err
    (state / "logs.json").write_text(json.dumps({"files": True, "paths": [str(tmp_path / "x")]}))
    (tmp_path / "x").write_text("")
    assert main(["--state-dir", str(state), "logs", "--once"]) == 0
    assert "sent 0 log records (0 queued)" in capsys.readouterr().out
    assert main(["--state-dir", str(state), "status"]) == 0
    assert f"log sources:         file:{tmp_path / 'x'}" in capsys.readouterr().out


def test_a_batch_sent_again_carries_the_same_batch_id_and_another_batch_another(tmp_path):
    """Decision 0050: the server knows a resend by its ``Tandem-Batch-Id``."""
    server = Server((503, {"detail": "starting"}, {}))
    fwd = forwarder(tmp_path, server)
    fwd.round()
    write_lines(tmp_path, 6)
    assert fwd.round().failed  # 4 records tried, kept
    assert fwd.round().sent == 6  # the same 4 again, then the other 2
    ids = [request.headers["Tandem-Batch-Id"] for request in server.requests]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2]
    # A queue made afresh (a new state directory) names its batches differently.
    other = forwarder(tmp_path / "fresh", Server())
    assert other.queue.name != fwd.queue.name
