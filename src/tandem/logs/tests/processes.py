"""Real ``tandem`` processes for the crash tests (issue 12's done-when, decision 0046): the
ingest server and the detection worker run as children on the test's database and the
test's stream, are SIGKILLed as a whole process group (a crash, not a shutdown), and are
started again.

A child shares the test's (possibly shifted, ``--clock-shift``) clock, as two processes on
one machine share one: alerts, leases and quota windows are wall-clock times written by one
process and read by another.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import time_machine
from django.db import connection

from tandem.logs.streams.base import Batch, Consumer, EventStream, Limits
from tandem.logs.streams.embedded import EmbeddedStream
from tandem.logs.streams.jetstream import JetStreamStream

NATS_URL = os.environ.get("TANDEM_TEST_NATS_URL", "nats://127.0.0.1:4222")
#: How long a test waits for a child to do something before it fails (never a measure).
PATIENCE = 120.0


def clock_offset() -> float:
    """Seconds this test process's clock is moved by (the suite's ``--clock-shift``)."""
    hatch = time_machine.escape_hatch
    return time.time() - hatch.time.time() if hatch.is_travelling() else 0.0


def clock_prelude() -> str:
    """Python that moves a child's clock as this process's is moved (nothing when not)."""
    offset = clock_offset()
    if abs(offset) <= 1:
        return ""
    return (
        "import datetime, time_machine\n"
        "time_machine.travel(datetime.datetime.now(datetime.UTC)"
        f" + datetime.timedelta(seconds={offset!r}), tick=True).start()\n"
    )


def database_url() -> str:
    """The test database as a ``DATABASE_URL`` a child process opens."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def nats_names() -> dict[str, str]:
    """A stream and subject prefix of this test's own, so suites side by side never meet."""
    run = uuid.uuid4().hex[:12]
    return {
        "TANDEM_NATS_STREAM": f"TANDEM_CRASH_{run}",
        "TANDEM_NATS_SUBJECT_PREFIX": f"crash.{run}",
    }


def child_env(data_dir: Path, stream: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a child: the test's database, the stream named by ``stream``
    (``TANDEM_LOG_STREAM`` and its settings), a data folder of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(
        {
            "TANDEM_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url(),
            "TANDEM_SECRET_KEY": "crash-test-" + "x" * 40,
            **stream,
            **extra,
        }
    )
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``tandem ARGS`` in a new process group (so a crash takes every process it forks),
    its output to ``log``."""
    code = clock_prelude() + (
        "import sys\nfrom tandem.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-c", code, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def crash(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything in its group: nothing runs a shutdown step."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=PATIENCE)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the group and wait (a crash if it does not stop in time); the exit code."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return process.wait()
    try:
        return process.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        crash(process)
        return -9


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    condition: Callable[[], Any], what: str, *, log: Path | None = None, patience: float = PATIENCE
) -> Any:
    """Poll ``condition`` until it returns something true; fail saying ``what`` (and the
    child's log) when it does not within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"gave up waiting for {what}\n{tail}")
        time.sleep(0.02)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def opened_stream(stream: dict[str, str], *, ack_wait: float = 60.0) -> Iterator[EventStream]:
    """The stream the children use, opened here with the ``detection`` group (and, for
    NATS, deleted at the end). ``ack_wait`` must be the children's: on NATS it is the
    group's, set when the group is made."""
    opened: EventStream
    limits = Limits(ack_wait=ack_wait)
    if stream["TANDEM_LOG_STREAM"] == "nats":
        opened = JetStreamStream(
            NATS_URL,
            name=stream["TANDEM_NATS_STREAM"],
            subject_prefix=stream["TANDEM_NATS_SUBJECT_PREFIX"],
            limits=limits,
            groups=("detection",),
        )
    else:
        opened = EmbeddedStream(stream["TANDEM_LOG_STREAM_DIR"], limits=limits)
        opened.ensure_group("detection")
    try:
        yield opened
    finally:
        if isinstance(opened, JetStreamStream):
            opened.delete_stream()
        opened.close()


def read_all(consumer: Consumer, *, quiet: float = 2.0) -> list[Batch]:
    """Every batch the consumer gets (acknowledged) until nothing comes for ``quiet`` s."""
    got: list[Batch] = []
    while batches := consumer.fetch(max_batches=50, timeout=quiet):
        for batch in batches:
            consumer.ack(batch)
        got.extend(batches)
    return got


class FreezingProxy:
    """A loopback TCP relay to ``target`` that can be frozen: from then on nothing passes
    either way, as if the network stopped. Put between a detection worker and NATS, it holds
    the worker's next acknowledgement back, so a test can kill the worker between a batch's
    commit and its ack (the window that redelivers a batch whose alerts exist)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                chunk = source.recv(65536)
            except OSError:
                return
            if not chunk or self.frozen.is_set():
                return  # frozen: what came is held back for good
            try:
                sink.sendall(chunk)
            except OSError:
                return

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


def stream_settings(kind: str, tmp_path: Path) -> dict[str, str]:
    """``TANDEM_LOG_STREAM`` and its settings for a test's own stream of ``kind``."""
    if kind == "nats":
        return {"TANDEM_LOG_STREAM": "nats", "TANDEM_NATS_URL": NATS_URL, **nats_names()}
    return {"TANDEM_LOG_STREAM": "embedded", "TANDEM_LOG_STREAM_DIR": str(tmp_path / "stream")}
