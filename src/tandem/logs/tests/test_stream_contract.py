"""The stream contract (decision 0035): one test class, run against the embedded log and
against a real NATS JetStream server (127.0.0.1:4222 here and in CI; a different one with
``TANDEM_TEST_NATS_URL``). No database: the back-ends know nothing of Django.

"Another process" is a real one (``subprocess``): appends made durable there are read here,
and a consumer that SIGKILLs itself holding a batch loses it to a consumer here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tandem.logs.streams.base import Batch, BatchTooLarge, Consumer, EventStream, Limits, StreamBusy
from tandem.logs.streams.embedded import HEADER, EmbeddedStream
from tandem.logs.streams.jetstream import JetStreamStream
from tandem.logs.tests.processes import clock_prelude

NATS_URL = os.environ.get("TANDEM_TEST_NATS_URL", "nats://127.0.0.1:4222")
#: Short enough that redelivery tests take a second or two.
ACK_WAIT = 1.0
LIMITS = Limits(max_batch_bytes=64 * 1024, max_bytes=64 * 1024 * 1024, ack_wait=ACK_WAIT)

Opener = Callable[..., EventStream]


def events(tag: str, count: int = 3) -> list[dict[str, Any]]:
    return [{"message": f"{tag}-{i}", "n": i} for i in range(count)]


def drain(consumer: Consumer, *, ack: bool = True, timeout: float = 1.5) -> list[Batch]:
    """Everything the consumer gets until nothing comes for ``timeout`` (generous: CI runs
    two suites side by side against one NATS server)."""
    got: list[Batch] = []
    while batches := consumer.fetch(max_batches=10, timeout=timeout):
        for batch in batches:
            if ack:
                consumer.ack(batch)
        got.extend(batches)
    return got


def _opener_source(spec: dict[str, Any]) -> str:
    """Python that opens ``stream`` in a child process from ``spec`` (its ``argv[1]``), on
    this process's (possibly shifted) clock."""
    return clock_prelude() + textwrap.dedent(
        """
        import json, os, signal, sys
        from tandem.logs.streams.base import Limits
        spec = json.loads(sys.argv[1])
        limits = Limits(**spec["limits"])
        if spec["kind"] == "embedded":
            from tandem.logs.streams.embedded import EmbeddedStream
            stream = EmbeddedStream(spec["root"], limits=limits)
        else:
            from tandem.logs.streams.jetstream import JetStreamStream
            stream = JetStreamStream(spec["url"], name=spec["name"],
                                     subject_prefix=spec["prefix"], limits=limits)
        """
    )


def run_child(spec: dict[str, Any], body: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a new Python process with ``stream`` opened from ``spec``."""
    return subprocess.run(
        [sys.executable, "-c", _opener_source(spec) + textwrap.dedent(body), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class StreamContract:
    """What every back-end must do. Subclasses provide ``open_stream`` (a callable opening
    a new instance on the same store) and ``spec`` (how a child process opens it)."""

    def test_an_append_made_in_another_process_is_read_here(self, open_stream: Opener, spec):
        stream = open_stream()
        stream.ensure_group("detection")  # groups exist before anything is appended
        child = run_child(
            spec,
            """
            for i in range(3):
                stream.append(7, 70, [{"message": f"from-child-{i}"}])
            stream.close()
            """,
        )
        assert child.returncode == 0, child.stderr
        got = drain(open_stream().consumer("detection", "here"))
        assert [b.events for b in got] == [[{"message": f"from-child-{i}"}] for i in range(3)]
        assert {(b.tenant_id, b.source_id) for b in got} == {(7, 70)}

    def test_every_append_that_returned_survives_a_sigkill_mid_stream(
        self, open_stream: Opener, spec
    ):
        stream = open_stream()
        stream.ensure_group("detection")
        script = _opener_source(spec) + textwrap.dedent(
            """
            for i in range(100000):
                stream.append(11, None, [{"n": i, "pad": "p" * 300}])
                print(i, flush=True)  # acknowledged: append returned
            """
        )
        child = subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(spec)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        acknowledged = []
        for line in child.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) == 150:
                child.send_signal(signal.SIGKILL)  # mid-stream, maybe mid-write
                break
        child.wait(timeout=30)
        got = [e["n"] for b in drain(open_stream().consumer("detection", "c")) for e in b.events]
        assert set(acknowledged) <= set(got)
        assert got == sorted(got)  # in order, nothing garbled

    def test_appended_since_a_mark_finds_the_named_batches_appended_after_it(
        self, open_stream: Opener
    ):
        """Decision 0050: a receiver that died between an append and its answer looks for
        the batch's records after the position it noted first."""
        stream = open_stream()
        stream.ensure_group("detection")
        stream.append(5, 50, events("before"), append_id="b.0")
        mark = stream.mark()
        stream.append(5, 50, events("after"), append_id="a.0")
        stream.append(5, 50, events("unnamed"))
        stream.append(5, 50, events("after-too"), append_id="a.1")
        wanted = {"b.0", "a.0", "a.1", "a.2"}
        assert open_stream().appended_since(mark, wanted) == {"a.0", "a.1"}
        assert stream.appended_since(stream.mark(), wanted) == set()
        # The id travels with the batch; the events are as appended.
        got = drain(stream.consumer("detection", "c"))
        assert [b.events[0]["message"] for b in got][1] == "after-0"

    def test_batches_of_a_tenant_arrive_in_the_order_appended(self, open_stream: Opener):
        stream = open_stream()
        stream.ensure_group("detection")
        for i in range(10):
            stream.append(1, None, events(f"one-{i}", 1))
            stream.append(2, None, events(f"two-{i}", 1))
        got = drain(stream.consumer("detection", "c"))
        for tenant, tag in ((1, "one"), (2, "two")):
            seen = [b.events[0]["message"] for b in got if b.tenant_id == tenant]
            assert seen == [f"{tag}-{i}-0" for i in range(10)]

    def test_a_consumer_that_crashes_holding_a_batch_loses_it_to_another(
        self, open_stream: Opener, spec
    ):
        stream = open_stream()
        stream.ensure_group("detection")
        stream.append(3, 30, events("held"))
        child = run_child(
            spec,
            """
            consumer = stream.consumer("detection", "doomed")
            batches = consumer.fetch(max_batches=1, timeout=5)
            print(json.dumps([b.events for b in batches]), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
            """,
        )
        assert child.returncode == -signal.SIGKILL
        assert json.loads(child.stdout) == [events("held")]
        survivor = stream.consumer("detection", "survivor")
        got = survivor.fetch(max_batches=5, timeout=ACK_WAIT * 4)
        assert [b.events for b in got] == [events("held")]
        assert got[0].deliveries == 2
        survivor.ack(got[0])
        assert survivor.fetch(max_batches=5, timeout=ACK_WAIT * 2) == []

    def test_an_unacknowledged_batch_comes_back_after_the_ack_wait(self, open_stream: Opener):
        stream = open_stream()
        stream.ensure_group("detection")
        stream.append(3, None, events("slow"))
        slow = stream.consumer("detection", "slow")
        first = slow.fetch(timeout=2)
        assert [b.events for b in first] == [events("slow")]
        other = stream.consumer("detection", "other")
        assert other.fetch(timeout=ACK_WAIT / 4) == []  # leased: nobody else gets it yet
        again = other.fetch(timeout=ACK_WAIT * 4)
        assert [b.events for b in again] == [events("slow")]
        other.ack(again[0])

    def test_two_consumers_of_a_group_share_the_batches_without_duplicates(
        self, open_stream: Opener
    ):
        stream = open_stream()
        stream.ensure_group("detection")
        for i in range(20):
            stream.append(4, None, events(f"b{i}", 1))
        a, b = stream.consumer("detection", "a"), stream.consumer("detection", "b")
        seen: dict[str, list[str]] = {"a": [], "b": []}
        idle = 0
        while idle < 2:
            idle += 1
            for name, consumer in (("a", a), ("b", b)):
                for batch in consumer.fetch(max_batches=1, timeout=0.3):
                    seen[name].append(batch.events[0]["message"])
                    consumer.ack(batch)
                    idle = 0
        everything = seen["a"] + seen["b"]
        assert sorted(everything) == sorted(f"b{i}-0" for i in range(20))
        assert len(set(everything)) == 20
        assert seen["a"] and seen["b"]

    def test_each_group_gets_every_batch(self, open_stream: Opener):
        stream = open_stream()
        stream.ensure_group("detection")
        stream.ensure_group("archive")
        for i in range(4):
            stream.append(5, None, events(f"g{i}", 1))
        for group in ("detection", "archive"):
            got = drain(stream.consumer(group, "c"))
            assert [x.events[0]["message"] for x in got] == [f"g{i}-0" for i in range(4)]

    def test_nothing_is_lost_across_a_restart(self, open_stream: Opener):
        stream = open_stream()
        stream.ensure_group("detection")
        for i in range(10):
            stream.append(6, None, events(f"r{i}", 1))
        consumer = stream.consumer("detection", "before")
        done = []
        while len(done) < 4:
            for batch in consumer.fetch(max_batches=4 - len(done), timeout=2):
                consumer.ack(batch)
                done.append(batch.events[0]["message"])
        held = consumer.fetch(max_batches=2, timeout=2)  # delivered, never acknowledged
        assert len(held) == 2
        consumer.close()
        stream.close()

        reopened = open_stream()
        after = reopened.consumer("detection", "after")
        rest = [b.events[0]["message"] for b in drain(after, timeout=ACK_WAIT * 3)]
        assert sorted(done + rest) == sorted(f"r{i}-0" for i in range(10))
        assert not set(done) & set(rest)

    def test_a_batch_over_the_size_limit_is_refused_whole(self, open_stream: Opener):
        stream = open_stream()
        stream.ensure_group("detection")
        with pytest.raises(BatchTooLarge):
            stream.append(8, None, [{"message": "x" * (LIMITS.max_batch_bytes + 1)}])
        stream.append(8, None, events("fits"))
        got = drain(stream.consumer("detection", "c"))
        assert [b.events for b in got] == [events("fits")]

    def test_a_full_stream_pushes_back_until_its_consumers_catch_up(self, open_small: Opener):
        stream = open_small()
        stream.ensure_group("detection")
        batch = [{"message": "y" * 2000}]
        appended = 0
        with pytest.raises(StreamBusy):
            for _ in range(1000):
                stream.append(9, None, batch)
                appended += 1
        assert 0 < appended < 1000
        got = drain(stream.consumer("detection", "c"))
        assert len(got) == appended  # everything before the refusal, nothing after
        stream.append(9, None, batch)  # room again once consumed


class TestEmbeddedStream(StreamContract):
    @pytest.fixture
    def root(self, tmp_path: Path) -> Path:
        return tmp_path / "stream"

    @pytest.fixture
    def open_stream(self, root: Path) -> Iterator[Opener]:
        opened: list[EmbeddedStream] = []

        def open_(**kwargs: Any) -> EmbeddedStream:
            stream = EmbeddedStream(root, limits=LIMITS, **kwargs)
            opened.append(stream)
            return stream

        yield open_
        for stream in opened:
            stream.close()

    @pytest.fixture
    def open_small(self, tmp_path: Path) -> Opener:
        small = Limits(max_batch_bytes=8 * 1024, max_bytes=64 * 1024, ack_wait=ACK_WAIT)
        return lambda: EmbeddedStream(tmp_path / "small", limits=small, segment_bytes=8 * 1024)

    @pytest.fixture
    def spec(self, root: Path) -> dict[str, Any]:
        return {"kind": "embedded", "root": str(root), "limits": LIMITS.__dict__}

    def segments(self, root: Path) -> list[Path]:
        return sorted(root.glob("*.seg"))

    def test_a_torn_record_at_the_end_is_cut_off_on_open(self, open_stream: Opener, root: Path):
        stream = open_stream()
        stream.append(1, None, events("whole-1"))
        stream.append(1, None, events("whole-2"))
        stream.close()
        last = self.segments(root)[-1]
        good_size = last.stat().st_size
        with open(last, "ab") as file:  # a crash halfway through writing a third record
            file.write(HEADER.pack(500, 12345) + b'{"t":1,"s":null,"e":[{"mess')
        reopened = open_stream()
        assert last.stat().st_size == good_size
        reopened.append(1, None, events("after"))
        got = drain(reopened.consumer("detection", "c"))
        assert [b.events for b in got] == [events("whole-1"), events("whole-2"), events("after")]

    def test_a_record_whose_checksum_fails_at_the_end_is_cut_off(
        self, open_stream: Opener, root: Path
    ):
        stream = open_stream()
        stream.append(1, None, events("kept"))
        stream.append(1, None, events("garbled"))
        stream.close()
        last = self.segments(root)[-1]
        data = bytearray(last.read_bytes())
        data[-3] ^= 0xFF  # the whole length was written, the content was not (power cut)
        last.write_bytes(bytes(data))
        got = drain(open_stream().consumer("detection", "c"))
        assert [b.events for b in got] == [events("kept")]

    def test_an_appender_repairs_a_tail_another_process_tore(self, open_stream: Opener, root):
        survivor = open_stream()
        survivor.append(1, None, events("first"))
        with open(self.segments(root)[-1], "ab") as file:  # another process died mid-write
            file.write(HEADER.pack(900, 1)[:5])
        survivor.append(1, None, events("second"))
        got = drain(open_stream().consumer("detection", "c"))
        assert [b.events for b in got] == [events("first"), events("second")]

    def test_processes_appending_at_once_lose_and_mix_nothing(self, open_stream: Opener, spec):
        open_stream().ensure_group("detection")
        body = """
            me = int(sys.argv[2])
            for i in range(40):
                stream.append(me, None, [{"message": f"{me}-{i}"}])
            """
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _opener_source(spec) + textwrap.dedent(body),
                    json.dumps(spec),
                    str(n),
                ],
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        for child in children:
            assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
        got = drain(open_stream().consumer("detection", "c"))
        for n in range(4):
            assert [b.events[0]["message"] for b in got if b.tenant_id == n] == [
                f"{n}-{i}" for i in range(40)
            ]

    def test_segments_go_once_every_group_is_past_them(self, root: Path):
        stream = EmbeddedStream(root, limits=LIMITS, segment_bytes=1024)
        stream.ensure_group("detection")
        stream.ensure_group("archive")
        for i in range(30):
            stream.append(1, None, [{"message": f"{i}" + "z" * 300}])
        assert len(self.segments(root)) > 5
        drain(stream.consumer("detection", "c"))
        assert len(self.segments(root)) > 5  # the archive group still needs them
        drain(stream.consumer("archive", "c"))
        assert len(self.segments(root)) == 1
        stream.append(1, None, events("later"))
        assert [b.events for b in drain(stream.consumer("archive", "c"))] == [events("later")]

    def test_a_batch_that_fails_every_delivery_is_set_aside(self, root: Path):
        limits = Limits(max_batch_bytes=64 * 1024, ack_wait=0.05, max_deliver=2)
        stream = EmbeddedStream(root, limits=limits)
        stream.append(1, None, events("poison"))
        stream.append(1, None, events("fine"))
        consumer = stream.consumer("detection", "c")
        deliveries = []
        for _ in range(40):
            for batch in consumer.fetch(timeout=0.1):
                deliveries.append(batch.events[0]["message"])
                if batch.events == events("fine"):
                    consumer.ack(batch)
        assert deliveries.count("poison-0") == 2
        assert deliveries.count("fine-0") == 1
        dead = (root / "groups" / "detection.dead.ndjson").read_text().splitlines()
        assert [json.loads(line)["e"] for line in dead] == [events("poison")]


class TestJetStreamStream(StreamContract):
    """Needs the NATS server: when it is down the tests fail and say so (CI runs one)."""

    @pytest.fixture
    def names(self) -> dict[str, str]:
        run = uuid.uuid4().hex[:12]
        return {"name": f"TANDEM_TEST_{run}", "prefix": f"tandem.test.{run}"}

    @pytest.fixture
    def open_stream(self, names: dict[str, str]) -> Iterator[Opener]:
        yield from self._opener(names, LIMITS)

    @pytest.fixture
    def open_small(self) -> Iterator[Opener]:
        run = uuid.uuid4().hex[:12]
        small = Limits(max_batch_bytes=8 * 1024, max_bytes=64 * 1024, ack_wait=ACK_WAIT)
        yield from self._opener(
            {"name": f"TANDEM_TEST_{run}", "prefix": f"tandem.test.{run}"}, small
        )

    def _opener(self, names: dict[str, str], limits: Limits) -> Iterator[Opener]:
        opened: list[JetStreamStream] = []

        def open_() -> JetStreamStream:
            try:
                stream = JetStreamStream(
                    NATS_URL, name=names["name"], subject_prefix=names["prefix"], limits=limits
                )
            except Exception as error:
                pytest.fail(
                    f"The NATS JetStream contract tests need a NATS server with JetStream at "
                    f"{NATS_URL} (nats-server -js; TANDEM_TEST_NATS_URL for another): {error}",
                    pytrace=False,
                )
            opened.append(stream)
            return stream

        yield open_
        if opened:
            cleaner = opened[-1]
            try:
                cleaner.delete_stream()
            finally:
                for stream in opened:
                    stream.close()

    @pytest.fixture
    def spec(self, names: dict[str, str]) -> dict[str, Any]:
        return {"kind": "nats", "url": NATS_URL, **names, "limits": LIMITS.__dict__}
