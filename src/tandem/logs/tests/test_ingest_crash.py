"""The ingest server SIGKILLed in the middle of a stream (issue 12's done-when; decisions
0035 and 0046): ``tandem serve`` runs as a real process group on the test's database, three
clients post batches to ``/ingest/v1/events`` over real sockets and note which were
acknowledged (200 with every event accepted), the whole group is killed while requests are
in flight, a new server is started on the same port, and the clients go on. Afterwards every
acknowledged event is in the stream, once; on the embedded log and on NATS JetStream (a
stream of the test's own on the server at 127.0.0.1:4222).

Syslog has no acknowledgement to check this against (RFC 5424/6587 senders learn nothing of
what was stored; decision 0046), so only the HTTP endpoint is crash-tested this way.
"""

from __future__ import annotations

import http.client
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.personas import World

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.logs.services import create_ingest_source
from tandem.logs.tests import processes
from tandem.tenancy.models import Tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EVENTS_PER_BATCH = 200
#: Acknowledged batches before the crash, and after the restart, before the clients stop.
BEFORE, AFTER = 25, 15
CLIENTS = 3


def http_token(world: World) -> str:
    with system_context("test: Acme"):
        acme = Tenant.objects.get(pk=world["tenant"])
    _source, secret = create_ingest_source(
        actor=system_principal("test: an HTTP source"),
        tenant=acme,
        name="Crash test shipper",
        kind="http",
    )
    assert secret is not None
    return secret


class Clients:
    """Threads posting numbered batches until stopped; each notes what was acknowledged."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.acked: list[str] = []
        self.failed = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=processes.PATIENCE)

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def _run(self, client: int) -> None:
        number = 0
        while not self.stop.is_set():
            batch = f"{client}-{number}"
            number += 1
            if self._post(batch):
                with self._lock:
                    self.acked.append(batch)
            else:
                with self._lock:
                    self.failed += 1
                self.stop.wait(0.05)  # the server is down: try again shortly

    def _post(self, batch: str) -> bool:
        body = b"".join(
            orjson.dumps({"message": f"crash test event {batch}/{i}", "crash": f"{batch}/{i}"})
            + b"\n"
            for i in range(EVENTS_PER_BATCH)
        )
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(
                "POST",
                "/ingest/v1/events",
                body,
                {"Authorization": f"Bearer {self.token}", "Content-Type": "application/x-ndjson"},
            )
            response = connection.getresponse()
            answer = response.read()
        except OSError:
            return False  # refused, reset, or cut off mid-answer: not acknowledged
        finally:
            connection.close()
        return response.status == 200 and orjson.loads(answer)["accepted"] == EVENTS_PER_BATCH


def serve(port: int, env: dict[str, str], log: Path) -> Any:
    server = processes.spawn(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], env, log
    )
    processes.wait_until(lambda: processes.listening(port), "the server to listen", log=log)
    return server


@pytest.mark.parametrize("kind", ["embedded", "nats"])
def test_every_acknowledged_event_survives_a_sigkill_of_the_ingest_server(
    world: World, tmp_path: Path, kind: str
) -> None:
    stream = processes.stream_settings(kind, tmp_path)
    env = processes.child_env(tmp_path / "data", stream)
    log = tmp_path / "serve.log"
    port = processes.free_port()
    token = http_token(world)
    with processes.opened_stream(stream) as opened:  # the groups exist before any append
        server = serve(port, env, log)
        clients = Clients(port, token)
        try:
            clients.start()
            processes.wait_until(lambda: clients.count() >= BEFORE, "acknowledged batches")
            processes.crash(server)  # requests are in flight on three connections
            at_crash, failed_before = clients.count(), clients.failed
            server = serve(port, env, log)
            processes.wait_until(
                lambda: clients.count() >= at_crash + AFTER, "batches after the restart", log=log
            )
        finally:
            clients.join()
            processes.stop(server)
        assert clients.failed > failed_before  # the crash cut requests off, or refused them

        stored: dict[str, int] = {}
        for batch in processes.read_all(opened.consumer("detection", "crash-check")):
            assert batch.tenant_id == world["tenant"]
            for event in batch.events:
                stored[event["crash"]] = stored.get(event["crash"], 0) + 1

    acknowledged = {f"{b}/{i}" for b in clients.acked for i in range(EVENTS_PER_BATCH)}
    missing = acknowledged - stored.keys()
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    # Nothing is stored twice (the clients never resend); a batch whose answer the crash
    # cut off may be stored although it was not acknowledged (at least once).
    assert set(stored.values()) == {1}
    assert len(clients.acked) >= BEFORE + AFTER
