"""Where the syslog listener's batches go (decision 0041): the listener (decision 0036,
pure asyncio) hands each batch with its sender's IP to :class:`SyslogSink`, which finds the
sender's syslog source and takes the events through ``ingest.take_events``, the path every
receiver shares (quota, ``_tenant``/``_source`` stamps, durable append, counters).

- A sender no enabled syslog source allows is refused: nothing is stored, the batch is
  counted under ``unknown_sender`` (per IP, here: a listener cannot tell a tenant it does
  not know), and the listener counts it as taken, so TCP does not retry it for ever.
- Over quota or a busy stream (``ingest.Overloaded``) becomes ``SinkBusy``: TCP stops
  reading (backpressure), UDP counts a drop.

The sink runs in the listener's thread pool; each thread has its own database connection.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

from tandem.logs import ingest
from tandem.logs.syslog.listener import SinkBusy

log = logging.getLogger(__name__)


class SyslogSink:
    """``sink(sender_ip, events)`` for :class:`~tandem.logs.syslog.listener.SyslogListener`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: sender IP → events refused because no syslog source allows the sender
        self.unknown_senders: Counter[str] = Counter()

    def __call__(self, sender: str, events: list[dict[str, Any]]) -> None:
        source = ingest.source_for_sender(sender)
        if source is None:
            with self._lock:
                first = sender not in self.unknown_senders
                self.unknown_senders[sender] += len(events)
            if first:
                log.warning("syslog from %s refused: no enabled syslog source allows it", sender)
            return
        try:
            ingest.take_events(source=source, events=events)
        except ingest.Overloaded as overloaded:
            raise SinkBusy(overloaded.detail) from overloaded
