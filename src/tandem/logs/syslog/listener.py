"""The syslog listener: UDP (RFC 5426), TCP (RFC 6587, both framings) and TLS (RFC 5425)
on asyncio, handing normalised events in batches to a sink (decision 0036).

The sink is `sink(sender, events) -> None`: it returns once the batch is durable (the lead
wires it to the event stream) and runs in a thread pool so the loop keeps serving. It may
raise `SinkBusy`:
- on TCP/TLS the connection stops being read (the kernel buffers fill and the sender's
  writes block: TCP backpressure) and the same batch is offered again after a back-off, so
  no message read from a connection is ever dropped;
- on UDP there is no way to push back: the batch is counted as `dropped_busy`.

Counters per sender IP and reason: accepted, malformed (and malformed.<reason>), oversized,
invalid_utf8 (still accepted, with U+FFFD), dropped_busy, dropped_error (UDP, sink failed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import ssl
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from tandem.logs.syslog.framing import DEFAULT_MAX_MESSAGE, FrameDecoder, FrameError, decode_message
from tandem.logs.syslog.parse import Malformed, SyslogMessage, parse_syslog

log = logging.getLogger(__name__)

Sink = Callable[[str, list[dict[str, Any]]], None]


class ToEvent(Protocol):
    """Turns a parsed message into the event the sink gets: `normalise.from_syslog`. It is
    passed in because normalisation sits above this package (it reads the parser's types);
    importing it here would close a cycle."""

    def __call__(
        self, msg: SyslogMessage, *, sender: str | None, invalid_utf8: bool
    ) -> dict[str, Any]: ...


_READ_CHUNK = 64 * 1024
_DRAIN_WAIT = 0.02  # at stop: how long to wait for bytes already on their way


class SinkBusy(Exception):  # noqa: N818 - a state the sink reports, not a failure
    """Raised by a sink that cannot take a batch now (stream full, quota reached)."""


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """Where to listen and how to batch. A port of None is not opened; 0 picks a free one.
    `tls_cafile` turns on client certificate authentication (RFC 5425 §5)."""

    host: str = "0.0.0.0"  # noqa: S104 - a syslog server listens for the network
    udp_port: int | None = 514
    tcp_port: int | None = 514
    tls_port: int | None = None
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    tls_cafile: str | None = None
    max_message: int = DEFAULT_MAX_MESSAGE
    batch_size: int = 500
    batch_interval: float = 0.2
    default_tz: dt.tzinfo = dt.UTC
    sink_threads: int = 4
    busy_retry: float = 0.05
    busy_retry_max: float = 1.0
    udp_max_pending: int = 10_000  # per sender, waiting while a batch is being delivered
    stop_timeout: float = 10.0


class Counters:
    """Message counts per sender and reason; touched only from the event loop."""

    def __init__(self) -> None:
        self._by_sender: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, sender: str, reason: str, n: int = 1) -> None:
        if n:
            self._by_sender[sender][reason] += n

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {sender: dict(counts) for sender, counts in self._by_sender.items()}

    def total(self, reason: str) -> int:
        return sum(counts[reason] for counts in self._by_sender.values())


def make_tls_context(certfile: str, keyfile: str, cafile: str | None = None) -> ssl.SSLContext:
    """A server context, TLS 1.2 or later; with `cafile`, clients must present a certificate
    that chains to it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    if cafile:
        context.load_verify_locations(cafile)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass
class _UdpBatch:
    events: list[dict[str, Any]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    inflight: bool = False


class SyslogListener:
    """`await start()`, then `addresses` names the bound sockets; `await stop()` stops
    accepting, delivers everything already received and returns."""

    def __init__(
        self,
        sink: Sink,
        config: ListenerConfig,
        *,
        to_event: ToEvent,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.sink = sink
        self.to_event = to_event
        self.config = config
        self.counters = Counters()
        self.addresses: dict[str, tuple[str, int]] = {}
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._executor = ThreadPoolExecutor(config.sink_threads, "syslog-sink")
        self._servers: list[asyncio.Server] = []
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._udp: dict[str, _UdpBatch] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections: set[asyncio.Task[Any]] = set()
        self._stopping: asyncio.Event | None = None
        self._stop_deadline = 0.0

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        cfg = self.config
        if cfg.udp_port is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(cfg.host, cfg.udp_port)
            )
            self._udp_transport = transport
            self.addresses["udp"] = transport.get_extra_info("sockname")[:2]
        if cfg.tcp_port is not None:
            server = await asyncio.start_server(
                self._handle_stream, cfg.host, cfg.tcp_port, limit=_READ_CHUNK
            )
            self._servers.append(server)
            self.addresses["tcp"] = server.sockets[0].getsockname()[:2]
        if cfg.tls_port is not None:
            if not (cfg.tls_certfile and cfg.tls_keyfile):
                raise ValueError("TLS needs tls_certfile and tls_keyfile")
            context = make_tls_context(cfg.tls_certfile, cfg.tls_keyfile, cfg.tls_cafile)
            server = await asyncio.start_server(
                self._handle_stream,
                cfg.host,
                cfg.tls_port,
                ssl=context,
                ssl_handshake_timeout=10,
                limit=_READ_CHUNK,
            )
            self._servers.append(server)
            self.addresses["tls"] = server.sockets[0].getsockname()[:2]

    async def stop(self) -> None:
        """Stop accepting; deliver what was received (TCP reads what already arrived);
        give up on a sink that stays busy after `stop_timeout` (counted dropped_busy)."""
        assert self._stopping is not None, "start() first"
        loop = asyncio.get_running_loop()
        self._stop_deadline = loop.time() + self.config.stop_timeout
        for server in self._servers:
            server.close()
        if self._udp_transport is not None:
            self._udp_transport.close()
        self._stopping.set()
        if self._connections:
            await asyncio.wait(self._connections, timeout=self.config.stop_timeout + 1)
        for task in list(self._connections):  # a sender that would not stop talking
            task.cancel()
        if self._connections:
            await asyncio.wait(self._connections, timeout=1)
        while any(b.events for b in self._udp.values()) or self._tasks:
            for sender in list(self._udp):
                self._udp_flush(sender)
            if self._tasks:
                await asyncio.wait(self._tasks)
            else:
                await asyncio.sleep(0)
        for server in self._servers:
            await server.wait_closed()
        self._executor.shutdown(wait=False)

    # --- one message --------------------------------------------------------------------

    def _event(self, raw: bytes, peer: tuple[str, int]) -> dict[str, Any] | None:
        sender = peer[0]
        text, invalid = decode_message(raw)
        if invalid:
            self.counters.add(sender, "invalid_utf8")
        parsed = parse_syslog(text, received_at=self._clock(), default_tz=self.config.default_tz)
        if isinstance(parsed, Malformed):
            self.counters.add(sender, "malformed")
            self.counters.add(sender, f"malformed.{parsed.reason}")
            return None
        return self.to_event(parsed, sender=_address(peer), invalid_utf8=invalid)

    async def _deliver(self, sender: str, events: list[dict[str, Any]], *, udp: bool) -> None:
        """Hand one batch to the sink; on TCP retry until it takes it (or stop times out)."""
        loop = asyncio.get_running_loop()
        delay = self.config.busy_retry
        while True:
            try:
                await loop.run_in_executor(self._executor, self.sink, sender, events)
            except SinkBusy:
                reason = "dropped_busy"
            except Exception:
                log.exception("syslog sink failed for %s (%d events)", sender, len(events))
                reason = "dropped_error"
            else:
                self.counters.add(sender, "accepted", len(events))
                return
            stopping = self._stopping is not None and self._stopping.is_set()
            if udp or (stopping and loop.time() > self._stop_deadline):
                self.counters.add(sender, "dropped_busy" if not udp else reason, len(events))
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.busy_retry_max)

    # --- TCP and TLS --------------------------------------------------------------------

    async def _handle_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None and self._stopping is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        sender = peer[0]
        loop = asyncio.get_running_loop()
        decoder = FrameDecoder(self.config.max_message)
        batch: list[dict[str, Any]] = []
        deadline = 0.0
        stop_wait = asyncio.ensure_future(self._stopping.wait())
        try:
            eof = False
            while not eof:
                timeout = max(0.0, deadline - loop.time()) if batch else None
                if self._stopping.is_set():
                    # Stopping: take what has arrived, then treat it as the end of stream.
                    try:
                        data = b""
                        if loop.time() < self._stop_deadline:
                            data = await asyncio.wait_for(reader.read(_READ_CHUNK), _DRAIN_WAIT)
                    except TimeoutError:
                        data = b""
                else:
                    read = asyncio.ensure_future(reader.read(_READ_CHUNK))
                    done, _ = await asyncio.wait(
                        {read, stop_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                    if read not in done:
                        # Safe: a cancelled read leaves its bytes in the reader's buffer.
                        read.cancel()
                        await asyncio.wait({read})
                        if not self._stopping.is_set():  # the batch's time is up
                            await self._deliver(sender, batch, udp=False)
                            batch = []
                        continue
                    data = read.result()
                eof = not data
                events = self._frame_events(decoder.close() if eof else decoder.feed(data), peer)
                if events and not batch:
                    deadline = loop.time() + self.config.batch_interval
                batch += events
                size = self.config.batch_size
                while len(batch) >= size:
                    # Not reading while the sink works: this is the backpressure.
                    await self._deliver(sender, batch[:size], udp=False)
                    batch = batch[size:]
        except OSError as exc:  # reset, broken pipe, TLS errors (ssl.SSLError is one)
            log.info("syslog connection from %s ended: %s", _address(peer), exc)
            batch += self._frame_events(decoder.close(), peer)
        finally:
            stop_wait.cancel()
            if batch:
                await self._deliver(sender, batch, udp=False)
            writer.close()
            self._connections.discard(task)

    def _frame_events(
        self, frames: list[bytes | FrameError], peer: tuple[str, int]
    ) -> list[dict[str, Any]]:
        events = []
        for frame in frames:
            if isinstance(frame, FrameError):
                if frame.reason == "oversized":
                    self.counters.add(peer[0], "oversized")
                else:
                    self.counters.add(peer[0], "malformed")
                    self.counters.add(peer[0], f"malformed.{frame.reason}")
            elif (event := self._event(frame, peer)) is not None:
                events.append(event)
        return events

    # --- UDP ----------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, peer: tuple[str, int]) -> None:
        sender = peer[0]
        if len(data) > self.config.max_message:
            self.counters.add(sender, "oversized")
            return
        event = self._event(data, peer)
        if event is None:
            return
        batch = self._udp.setdefault(sender, _UdpBatch())
        if len(batch.events) >= self.config.udp_max_pending:
            self.counters.add(sender, "dropped_busy")
            return
        batch.events.append(event)
        if len(batch.events) >= self.config.batch_size:
            self._udp_flush(sender)
        elif batch.timer is None and not batch.inflight:
            loop = asyncio.get_running_loop()
            batch.timer = loop.call_later(self.config.batch_interval, self._udp_flush, sender)

    def _udp_flush(self, sender: str) -> None:
        batch = self._udp[sender]
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        if batch.inflight or not batch.events:
            return
        size = self.config.batch_size
        events, batch.events = batch.events[:size], batch.events[size:]
        batch.inflight = True
        task = asyncio.get_running_loop().create_task(self._udp_deliver(sender, events))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _udp_deliver(self, sender: str, events: list[dict[str, Any]]) -> None:
        batch = self._udp[sender]
        try:
            await self._deliver(sender, events, udp=True)
        finally:
            batch.inflight = False
            if len(batch.events) >= self.config.batch_size:
                self._udp_flush(sender)
            elif batch.events and batch.timer is None:
                loop = asyncio.get_running_loop()
                batch.timer = loop.call_later(self.config.batch_interval, self._udp_flush, sender)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.listener._on_datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.info("syslog UDP error: %s", exc)


def run_listener(sink: Sink, config: ListenerConfig, *, to_event: ToEvent) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully (for a `tandem` command)."""

    async def main() -> None:
        listener = SyslogListener(sink, config, to_event=to_event)
        await listener.start()
        log.info("syslog listening on %s", listener.addresses)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await listener.stop()
        log.info("syslog listener stopped: %s", listener.counters.snapshot())

    asyncio.run(main())


def _address(peer: tuple[str, int]) -> str:
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
