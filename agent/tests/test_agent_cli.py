"""The ``tandem-agent`` command: one-line errors, exit codes, status, ``once --print``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tandem_agent.cli import main
from tandem_agent.inventory import state_hash
from tandem_agent.queue import ReportQueue
from tandem_agent.state import Enrolment, StateDir, Status


def run(state_dir, *args):
    return main(["--state-dir", str(state_dir), *args])


def test_status_of_a_fresh_agent_says_not_enrolled(state_dir, capsys):
    assert run(state_dir, "status") == 3
    out = capsys.readouterr().out
    assert "enrolled:            no" in out
    assert "queued reports:      0" in out


def test_once_and_run_need_an_enrolment(state_dir, capsys):
    assert run(state_dir, "once") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tandem-agent: not enrolled")
    assert run(state_dir, "run") == 3


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("ftp://tandem.example", "must be an https:// URL"),
        ("tandem.example", "must be an https"),
        ("https://t.example/?x=1", "address only"),
        ("http://tandem.example", "plain http:// is for a test server"),
    ],
)
def test_enrol_refuses_a_bad_server_url(state_dir, capsys, server, message):
    assert run(state_dir, "enrol", "--server", server, "--token", "t") == 2
    assert message in capsys.readouterr().err


def test_enrol_refuses_an_empty_token(state_dir, capsys):
    assert run(state_dir, "enrol", "--server", "https://t.example", "--token", " ") == 2
    assert "--token is empty" in capsys.readouterr().err


def test_enrol_against_an_unreachable_server_is_exit_1(state_dir, capsys):
    assert run(state_dir, "enrol", "--server", "https://127.0.0.1:9", "--token", "t") == 1
    assert "cannot reach https://127.0.0.1:9" in capsys.readouterr().err
    assert StateDir(state_dir).credential() is None


def test_a_revoked_device_refuses_to_run_until_enrolled_again(state_dir, capsys):
    state = StateDir(state_dir)
    state.save_enrolment(Enrolment(server="https://t.example", device_id="d"))
    state.save_credential("c")
    state.save_status(Status(revoked="This device was revoked."))
    assert run(state_dir, "once") == 4
    assert "revoked this device (This device was revoked.)" in capsys.readouterr().err
    assert run(state_dir, "status") == 0
    assert "revoked:             This device was revoked." in capsys.readouterr().out


def test_once_against_a_down_server_keeps_the_report(state_dir, capsys):
    state = StateDir(state_dir)
    state.save_enrolment(Enrolment(server="https://127.0.0.1:9", device_id="d"))
    state.save_credential("c")
    assert run(state_dir, "once") == 1
    assert "server unreachable, 1 reports kept" in capsys.readouterr().err
    queue = ReportQueue(state.queue_path)
    assert len(queue) == 1
    queue.close()
    assert run(state_dir, "status") == 0
    out = capsys.readouterr().out
    assert "queued reports:      1" in out and "server unreachable" in out


def test_once_print_prints_the_report_and_sends_nothing(state_dir, capsys):
    assert run(state_dir, "once", "--print") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["state_hash"] == state_hash(printed["inventory"])
    assert printed["inventory"]["schema_version"] == 1
    assert {"device", "os", "hardware", "software", "updates", "patch_status", "security"} <= set(
        printed["inventory"]
    )
    assert not state_dir.exists()


def test_run_stops_cleanly_on_sigterm(state_dir):
    state = StateDir(state_dir)
    state.save_enrolment(Enrolment(server="https://127.0.0.1:9", device_id="d", interval=3600))
    state.save_credential("c")
    env = {**os.environ, "TANDEM_AGENT_STATE_DIR": str(state_dir)}
    agent = subprocess.Popen(
        [sys.executable, "-m", "tandem_agent", "run"], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not StateDir(state_dir).status().last_error:
        time.sleep(0.2)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
    assert "stopping on signal 15" in agent.stderr.read()
    queue = ReportQueue(state.queue_path)
    assert len(queue) >= 1  # the report it could not send is kept
    queue.close()
