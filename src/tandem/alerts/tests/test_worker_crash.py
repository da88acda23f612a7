"""A detection worker SIGKILLed mid-batch (issue 12's done-when; decision 0046): ``tandem
detection-worker`` runs as a real process on the test's database and stream, and is killed
at the one moment that can count twice: a batch's alerts are committed and its
acknowledgement has not reached the stream. A new worker then gets that batch again.
Afterwards every event was counted once (the alert's count is the number of matching
events), no alert and no ticket was opened twice, and nothing was lost.

The moment is made, not waited for by luck: once the worker has committed its first batch,
the test stops its acknowledgements from getting through, on the embedded log by holding
the group's lock file (the worker's ack waits for it), on NATS by freezing a loopback relay
between the worker and the server. The worker goes on to commit the batch in hand and then
waits on its ack; the test sees a batch both recorded (its key is in the database) and
unacknowledged (by the stream's own account), and kills the worker's process group.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.personas import World

from tandem.alerts.models import Alert, RecordedBatch
from tandem.alerts.tests.support import security_monitoring_row
from tandem.core.events import pending, retry_now
from tandem.core.scoping import system_context
from tandem.logs.streams.embedded import EmbeddedStream
from tandem.logs.streams.jetstream import JetStreamStream
from tandem.logs.tests import processes
from tandem.servicedesk.tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RULE_ID = "7d3c2a10-5b9e-4f61-8c2d-0e4f6a8b1c93"
TITLE = "Crash test root password refused over SSH"
RULE = f"""
title: {TITLE}
id: {RULE_ID}
level: high
logsource:
    product: linux
    service: sshd
detection:
    selection:
        message|contains: 'Failed password for root'
    condition: selection
"""
HOST = "acme-hq-db01"
BATCHES, EVENTS_PER_BATCH = 60, 40
#: Seconds before a batch the killed worker held goes to the next one.
ACK_WAIT = 2


def sshd_line(number: int) -> str:
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    return (
        f"<38>1 {at.replace('+00:00', 'Z')} {HOST} sshd {number} - - "
        f"Failed password for root from 203.0.113.9 port {1024 + number} ssh2"
    )


def recorded_positions(tenant_id: int) -> set[str]:
    """The stream positions of the batches whose detections are committed."""
    with system_context("test: recorded batches"):
        keys = RecordedBatch.objects.filter(tenant_id=tenant_id).values_list("batch_key", flat=True)
        return {key.split(":")[1] for key in keys}


def alerts(tenant_id: int) -> list[Alert]:
    with system_context("test: alerts"):
        return list(Alert.objects.filter(tenant_id=tenant_id, rule_id=RULE_ID))


class Freeze:
    """Stops the worker's acknowledgements; tells which batches the stream has not seen
    acknowledged."""

    def __init__(self, kind: str, stream: Any, settings: dict[str, str]) -> None:
        self.kind, self.stream, self.settings = kind, stream, settings
        self.proxy: processes.FreezingProxy | None = None
        self._lock_fd: int | None = None
        if kind == "nats":
            host, port = processes.NATS_URL.removeprefix("nats://").split(":")
            self.proxy = processes.FreezingProxy((host, int(port)))

    def worker_env(self) -> dict[str, str]:
        if self.proxy is None:
            return {}
        return {"TANDEM_NATS_URL": f"nats://127.0.0.1:{self.proxy.port}"}

    def freeze(self) -> None:
        if self.proxy is not None:
            self.proxy.frozen.set()
            return
        assert isinstance(self.stream, EmbeddedStream)
        # The group's lock: every lease and ack of the group takes it (decision 0035).
        self._lock_fd = os.open(self.stream.groups_dir / "detection.lock", os.O_RDWR)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

    def unacknowledged(self) -> Callable[[str], bool]:
        """Whether the stream still waits for the batch at a position's ack."""
        if isinstance(self.stream, JetStreamStream):
            info = self.stream._run(self.stream._js.consumer_info(self.stream.name, "detection"))
            floor = info.ack_floor.stream_seq if info.ack_floor else 0
            return lambda position: int(position) > floor
        # Read, not locked (the state file is replaced whole; we hold its lock anyway).
        state = json.loads((self.stream.groups_dir / "detection.json").read_text())
        return lambda position: position in state["leases"]

    def thaw(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self.proxy is not None:
            self.proxy.close()


def group_done(kind: str, stream: Any) -> bool:
    """Every batch appended is acknowledged by the detection group."""
    if isinstance(stream, JetStreamStream):
        info = stream._run(stream._js.consumer_info(stream.name, "detection"))
        return info.num_pending == 0 and info.num_ack_pending == 0
    state = json.loads((stream.groups_dir / "detection.json").read_text())
    return not state["leases"] and stream._read_at(state["next"]) is None


@pytest.mark.parametrize("kind", ["embedded", "nats"])
def test_a_worker_killed_between_commit_and_ack_counts_every_event_once(
    world: World, tmp_path: Path, kind: str
) -> None:
    tenant = world["tenant"]
    security_monitoring_row(world)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ssh_root.yml").write_text(RULE, encoding="utf-8")
    settings = processes.stream_settings(kind, tmp_path)
    log = tmp_path / "worker.log"

    with processes.opened_stream(settings, ack_wait=ACK_WAIT) as stream:
        for batch in range(BATCHES):
            lines = range(batch * EVENTS_PER_BATCH, (batch + 1) * EVENTS_PER_BATCH)
            stream.append(tenant, None, [{"syslog": sshd_line(n)} for n in lines])
        freeze = Freeze(kind, stream, settings)
        env = processes.child_env(
            tmp_path / "data",
            settings,
            TANDEM_LOG_STREAM_ACK_WAIT_SECONDS=str(ACK_WAIT),
            TANDEM_DETECTION_RULES=str(rules),
            **freeze.worker_env(),
        )
        worker = processes.spawn(["detection-worker", "--batches", "30"], env, log)
        try:
            processes.wait_until(lambda: recorded_positions(tenant), "a first commit", log=log)
            freeze.freeze()
            waiting = freeze.unacknowledged()
            caught = processes.wait_until(
                lambda: {p for p in recorded_positions(tenant) if waiting(p)},
                "a batch recorded and not acknowledged",
                log=log,
            )
            processes.crash(worker)
        finally:
            freeze.thaw()
        counted_at_crash = alerts(tenant)[0].event_count
        assert counted_at_crash < BATCHES * EVENTS_PER_BATCH  # killed mid-stream

        # A new worker (on the real server address) gets the killed one's batches again.
        env.pop("TANDEM_NATS_URL", None)
        if kind == "nats":
            env["TANDEM_NATS_URL"] = processes.NATS_URL
        worker = processes.spawn(["detection-worker", "--batches", "30"], env, log)
        try:
            processes.wait_until(lambda: group_done(kind, stream), "the group to finish", log=log)
        finally:
            assert processes.stop(worker) == 0, log.read_text()[-3000:]
    [alert] = alerts(tenant)
    assert alert.event_count == BATCHES * EVENTS_PER_BATCH
    assert len(recorded_positions(tenant)) == BATCHES
    tally = json.loads(log.read_text().strip().splitlines()[-1])
    assert tally["replayed"] >= len(caught)  # the caught batches came again, recorded nothing
    # The alert's ticket, opened by the domain event the worker recorded: one.
    retry_now([event.pk for event in pending()])
    with system_context("test: tickets"):
        tickets = Ticket.objects.filter(tenant_id=tenant, subject__contains=TITLE)
        assert tickets.count() == 1
        assert tickets.get().pk == Alert.objects.get(pk=alert.pk).ticket_id
