"""What every consumer of a stream group does around its own work (decision 0041): fetch,
process each batch, acknowledge it only when processing succeeded, and leave a failed batch
to the stream (redelivered after the ack wait, set aside after ``max_deliver``). The
detection worker (``tandem.alerts.pipeline``) and the archive worker
(``tandem.logs.archiving``) are the subclasses; ``process`` is theirs, and acknowledges.
"""

from __future__ import annotations

import logging
import signal
import threading

from tandem.logs import streams

log = logging.getLogger(__name__)


class GroupWorker:
    """``run_once`` takes what one fetch returns; ``drain`` until a fetch is empty (tests,
    ``--once``); ``run`` loops until ``stop`` is set (SIGTERM)."""

    group = ""

    def __init__(self, *, consumer: streams.Consumer | None = None, name: str = "") -> None:
        self.consumer = consumer or streams.consumer(self.group, name or self.group)
        self.failed_batches = 0

    def process(self, batch: streams.Batch) -> None:
        """Do the work for one batch and acknowledge it; raise to leave it unacknowledged."""
        raise NotImplementedError

    def run_once(self, *, max_batches: int = 10, timeout: float = 0.0) -> int:
        """Process the batches one fetch returns; how many were acknowledged."""
        done = 0
        for batch in self.consumer.fetch(max_batches=max_batches, timeout=timeout):
            try:
                self.process(batch)
            except Exception:
                # Left unacknowledged: redelivered after the ack wait (the database or the
                # disk may be back by then). The next batches are still worth trying.
                self.failed_batches += 1
                log.exception(
                    "%s: batch %s (tenant %s, delivery %d) failed",
                    self.group,
                    batch.id,
                    batch.tenant_id,
                    batch.deliveries,
                )
                continue
            done += 1
        return done

    def drain(self, *, max_batches: int = 10) -> int:
        """Process until a fetch returns nothing."""
        total = 0
        while done := self.run_once(max_batches=max_batches):
            total += done
        return total

    def run(self, stop: threading.Event, *, max_batches: int = 10, wait: float = 1.0) -> None:
        """Fetch and process until ``stop`` is set; a fetch waits up to ``wait`` seconds, so
        stopping takes at most that plus the batches in hand."""
        while not stop.is_set():
            self.run_once(max_batches=max_batches, timeout=wait)

    def close(self) -> None:
        self.consumer.close()


def run_until_signalled(worker: GroupWorker, *, once: bool, max_batches: int) -> None:
    """A worker command's body: drain once, or run until SIGTERM or SIGINT; close after."""
    try:
        if once:
            worker.drain(max_batches=max_batches)
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        worker.run(stop, max_batches=max_batches)
    finally:
        worker.close()
