"""The real agent (``tandem_agent``, installed beside the server) against a running server:
it enrols with a token, reports this machine's real dpkg inventory and pending apt updates,
queues its reports on disk while the server cannot be reached, and delivers every one of
them once it can, with nothing lost and nothing applied twice (issue 11, "Done when")."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.machine_packages import machine_packages

from tandem.agents.models import AgentReport, InstalledSoftware, PendingUpdate, SoftwareChange
from tandem.agents.tests.support import closed_port, make_token, run_agent
from tandem.assets.models import Device
from tandem.core.scoping import system_context
from tandem_agent.backends.debian import DPKG_QUERY, DebianBackend

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Skipped only where dpkg does not exist: the agent reports the real package database.
    # CI runs on Debian, where dpkg-query is always present, so there this test runs.
    pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system"),
]


def _queued(state: Path) -> int:
    """The ``queued reports`` line of ``tandem-agent status``."""
    status = run_agent(state, "status").stdout
    line = next(x for x in status.splitlines() if x.startswith("queued reports:"))
    return int(line.split(":", 1)[1])


def _counts(device_id: int) -> tuple[int, int, int, int]:
    with system_context("test: what the server holds"):
        return (
            InstalledSoftware.objects.filter(device_id=device_id).count(),
            PendingUpdate.objects.filter(device_id=device_id).count(),
            AgentReport.objects.filter(device_id=device_id).count(),
            SoftwareChange.objects.filter(device_id=device_id).count(),
        )


@pytest.fixture
def packages_held() -> Iterator[None]:
    """dpkg's database unchanged by a run beside this one while the test compares the
    agent's reports with it (tests/machine_packages)."""
    with machine_packages(changing=False):
        yield


def test_the_real_agent_reports_this_machine_and_loses_nothing_while_the_server_is_down(
    live_server, world, tmp_path, packages_held
) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world, max_uses=1)
    state = tmp_path / "agent"
    enrolled = run_agent(state, "enrol", "--server", live_server.url, "--token", secret)
    assert enrolled.returncode == 0, enrolled.stderr
    device_id = int(json.loads((state / "config.json").read_text())["device_id"])

    sent = run_agent(state, "once")
    assert sent.returncode == 0, sent.stderr
    dpkg = subprocess.run(DPKG_QUERY, capture_output=True, text=True, check=True).stdout
    installed = [line for line in dpkg.splitlines() if line.split("\t")[4][1] not in "nc"]
    pending = DebianBackend().patch_report().updates
    apt = subprocess.run(
        ["apt-get", "-s", "dist-upgrade"],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    ).stdout
    software, updates, reports, changes = _counts(device_id)
    assert software == len(installed) > 100
    assert updates == len(pending) == sum(1 for x in apt.splitlines() if x.startswith("Inst "))
    assert reports == 1
    with system_context("test: the device"):
        device = Device.objects.get(pk=device_id)
    assert device.last_seen_at is not None and device.inventory_hash.startswith("sha256:")
    assert device.hostname == socket.gethostname()

    # The server cannot be reached: two rounds queue two reports on disk.
    config = json.loads((state / "config.json").read_text())
    (state / "config.json").write_text(
        json.dumps({**config, "server": f"http://127.0.0.1:{closed_port()}"})
    )
    for _ in range(2):
        offline = run_agent(state, "once")
        assert offline.returncode == 1, offline.stderr
    assert _queued(state) == 2
    assert _counts(device_id)[2] == 1

    # Back: the queued reports and a new one all arrive, each once.
    (state / "config.json").write_text(json.dumps(config))
    back = run_agent(state, "once")
    assert back.returncode == 0, back.stderr
    assert _counts(device_id) == (software, updates, 4, changes)
    assert _queued(state) == 0
    again = run_agent(state, "once")
    assert again.returncode == 0, again.stderr
    assert _counts(device_id) == (software, updates, 5, changes)
