"""The real agent forwards a machine's logs (issue 12 part 1, decision 0047): a
``tandem-agent logs`` process on this machine, enrolled against a running server, tails an
auth-log-style file (a temporary one: the test never writes to /var/log). Lines appended,
across a restart of the agent, a rename-and-create rotation and a time the server cannot
be reached, arrive in the server's event stream exactly once, and the detection pipeline
raises the starter pack's "Failed SSH password for root" alert from them."""

from __future__ import annotations

import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tandem.agents.tests.support import closed_port, enrol_real_agent, run_agent
from tandem.alerts.pipeline import DetectionWorker, load_engine
from tandem.alerts.tests.support import alerts_of
from tandem.detection.packs import STARTER
from tandem.logs import streams
from tandem.logs.tests.world import own_stream
from tandem.logs.workers import run_until_signalled

pytestmark = pytest.mark.django_db(transaction=True)

ROOT_PASSWORD_RULE = "62200aea-e306-48af-971a-809d536d3e8c"  # starter pack
HOST = "agent-logs-web01"


@pytest.fixture(autouse=True)
def stream(settings: Any, tmp_path: Path) -> Iterator[Path]:
    with own_stream(settings, tmp_path, ack_wait=5) as folder:
        yield folder


def start_forwarding(state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tandem_agent", "--state-dir", str(state), "logs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def sshd(text: str, pid: int = 4242) -> str:
    """An auth.log line as rsyslog writes it (RFC 3164, no PRI), stamped now in UTC."""
    return f"{time.strftime('%b %e %H:%M:%S', time.gmtime())} {HOST} sshd[{pid}]: {text}"


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in lines))


class StreamReader:
    """Every event the server appended, read through a consumer group of its own."""

    def __init__(self) -> None:
        self.consumer = streams.get_stream().consumer("test-reader", "test")
        self.messages: list[str] = []

    def read_until(self, count: int) -> list[str]:
        deadline = time.monotonic() + 60
        while len(self.messages) < count and time.monotonic() < deadline:
            for batch in self.consumer.fetch(100, 0.2):
                self.messages += [self._text(event) for event in batch.events]
                self.consumer.ack(batch)
        return self.messages

    def rest(self) -> list[str]:
        """Whatever else is in the stream now (every append is done: nothing to wait for)."""
        more: list[str] = []
        while batches := self.consumer.fetch(100, 0.5):
            for batch in batches:
                more += [self._text(event) for event in batch.events]
                self.consumer.ack(batch)
        return more

    @staticmethod
    def _text(event: dict[str, Any]) -> str:
        assert event["path"].endswith("auth.log") and event["hostname"] == socket.gethostname()
        return str(event["syslog"]).split(": ", 1)[1]


def test_the_real_agent_forwards_an_auth_log_exactly_once_and_an_alert_is_raised(
    live_server, world, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    state = tmp_path / "agent"
    enrol_real_agent(world, live_server.url, state)
    auth_log = tmp_path / "log" / "auth.log"
    auth_log.parent.mkdir()
    append(auth_log, sshd("Server listening on 0.0.0.0 port 22."))  # before the agent: not sent
    (state / "logs.json").write_text(
        json.dumps(
            {
                "files": True,
                "journald": False,
                "windows": False,
                "paths": [str(auth_log)],
                "poll_seconds": 0.2,
            }
        )
    )
    reader = StreamReader()

    # 1. The agent runs as a service; lines appended reach the server.
    forwarding = start_forwarding(state)
    try:
        _wait_for_position(state)
        append(
            auth_log,
            sshd("Failed password for root from 203.0.113.9 port 51022 ssh2"),
            sshd("Failed password for root from 203.0.113.9 port 51030 ssh2"),
            sshd("Accepted publickey for alice from 10.0.0.5 port 50122 ssh2"),
        )
        assert reader.read_until(3)[-3:] == [
            "Failed password for root from 203.0.113.9 port 51022 ssh2",
            "Failed password for root from 203.0.113.9 port 51030 ssh2",
            "Accepted publickey for alice from 10.0.0.5 port 50122 ssh2",
        ]
    finally:
        output = stop(forwarding)
    assert "log sources: file:" in output

    # 2. Stopped: lines written meanwhile, then logrotate renames and creates the file.
    append(auth_log, sshd("Failed password for root from 203.0.113.9 port 51044 ssh2"))
    auth_log.rename(auth_log.with_name("auth.log.1"))
    append(auth_log, sshd("Failed password for invalid user root from 198.51.100.7 port 2"))
    forwarding = start_forwarding(state)
    try:
        assert reader.read_until(5)[3:] == [
            "Failed password for root from 203.0.113.9 port 51044 ssh2",
            "Failed password for invalid user root from 198.51.100.7 port 2",
        ]
    finally:
        stop(forwarding)

    # 3. The server cannot be reached: the lines wait on disk, then go once it can.
    config = json.loads((state / "config.json").read_text())
    (state / "config.json").write_text(
        json.dumps({**config, "server": f"http://127.0.0.1:{closed_port()}"})
    )
    append(auth_log, sshd("Connection closed by 203.0.113.9 port 51050 [preauth]"))
    offline = run_agent(state, "logs", "--once")
    assert offline.returncode == 1, offline.stderr
    assert "1 log records kept" in offline.stderr
    assert status_line(state, "queued log records") == "1"
    (state / "config.json").write_text(json.dumps(config))
    back = run_agent(state, "logs", "--once")
    assert back.returncode == 0, back.stderr
    assert "sent 1 log records (0 queued)" in back.stdout

    # 4. The answer is lost (decision 0050): the server takes the batch, but the connection
    # closes before the agent hears. The agent keeps the line and sends it again, under the
    # same batch id: the server answers as the first time and does not append it twice.
    with LosingRelay(live_server.url) as relay:
        (state / "config.json").write_text(json.dumps({**config, "server": relay.url}))
        append(auth_log, sshd("Disconnected from user alice 10.0.0.5 port 50122"))
        lost = run_agent(state, "logs", "--once")
    assert lost.returncode == 1, lost.stderr
    assert "1 log records kept" in lost.stderr
    assert relay.answers == [200]  # the server took it
    (state / "config.json").write_text(json.dumps(config))
    resent = run_agent(state, "logs", "--once")
    assert resent.returncode == 0, resent.stderr
    assert "sent 1 log records (0 queued)" in resent.stdout

    # Exactly once: every line, in order, no repeat, nothing from before the agent.
    messages = reader.read_until(7)
    messages += reader.rest()
    assert len(messages) == 7 and len(set(messages)) == 7, messages
    assert messages[-2] == "Connection closed by 203.0.113.9 port 51050 [preauth]"
    assert messages[-1] == "Disconnected from user alice 10.0.0.5 port 50122"
    reader.consumer.close()

    # The detection pipeline turns the failed root passwords into one deduplicated alert.
    _, engine = load_engine(STARTER)
    worker = DetectionWorker(engine, name="test-worker")
    run_until_signalled(worker, once=True, max_batches=10)  # what `--once` runs
    assert worker.tally.events == 7 and worker.tally.malformed == 0
    [alert] = alerts_of(world["tenant"], ROOT_PASSWORD_RULE)
    assert alert.host == HOST
    assert alert.event_count == 4


class LosingRelay:
    """A loopback HTTP relay that passes each request to the server and then closes the
    connection without passing the answer back: an answer lost on the way. ``answers``
    holds the statuses the server gave."""

    def __init__(self, server: str) -> None:
        self.answers: list[int] = []
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                request = urllib.request.Request(
                    server + self.path, data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                        relay.answers.append(response.status)
                except urllib.error.HTTPError as error:
                    relay.answers.append(error.code)
                self.close_connection = True  # and nothing written: the answer is lost

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LosingRelay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def status_line(state: Path, name: str) -> str:
    """One line of ``tandem-agent status``."""
    lines = run_agent(state, "status").stdout.splitlines()
    return next(x for x in lines if x.startswith(f"{name}:")).split(":", 1)[1].strip()


def _wait_for_position(state: Path) -> None:
    """Until the agent has looked at the file once (its position is in the queue), so the
    lines appended next are new to it. Polls the agent's own status."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if status_line(state, "log sources").startswith("file:"):
            return
        time.sleep(0.1)
    raise AssertionError("the agent never took the file's position")
