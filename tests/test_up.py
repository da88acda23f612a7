"""``tandem up`` (what ``scripts/run`` runs) as a real process group on a fresh data folder:
it starts the web server, the task worker, the detection worker, the archive worker and a
syslog listener on a loopback port, says so, and Ctrl-C (SIGINT to the group, as a terminal
sends it) stops every one of them (decision 0046)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.logs.tests.processes import PATIENCE, free_port, listening, wait_until

pytestmark = pytest.mark.slow


def group_members(pgid: int) -> dict[int, str]:
    """The live processes of a process group, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start at its closing paren.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def test_up_starts_the_server_the_workers_and_a_syslog_listener_and_ctrl_c_stops_all(
    tmp_path: Path,
) -> None:
    web, syslog = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.pop("DATABASE_URL", None)  # its own SQLite in its own folder, as scripts/run
    env["TANDEM_DATA_DIR"] = str(tmp_path / "var")
    log = tmp_path / "up.log"
    argv = ["up", "--no-demo", "--port", str(web), "--syslog-port", str(syslog)]
    with open(log, "wb") as out:
        up = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "tandem.cli", *argv],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: "Press Ctrl-C" in log.read_text(), "up to start", log=log)
        wait_until(lambda: listening(web) and listening(syslog), "the ports to open", log=log)
        printed = log.read_text()
        assert f"Tandem is running at http://127.0.0.1:{web}/" in printed
        assert f"syslog listener on udp and tcp 127.0.0.1:{syslog}" in printed
        # How to send it a line, and (without the demo's source) that a source comes first.
        assert f"logger -n 127.0.0.1 -P {syslog} -t sshd" in printed
        assert "first add a syslog source" in printed
        for label in ("worker (tasks", "detection worker", "archive worker"):
            assert label in printed, printed
        commands = " | ".join(group_members(up.pid).values())
        for command in ("tandem.cli worker", "detection-worker", "archive-worker", "syslog-listen"):
            assert command in commands, commands

        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C
        assert up.wait(timeout=PATIENCE) == 0, log.read_text()[-3000:]
        wait_until(lambda: not group_members(up.pid), "every process to stop", log=log)
        assert not listening(web) and not listening(syslog)
    finally:
        if up.poll() is None or group_members(up.pid):
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
