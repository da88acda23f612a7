"""The detection worker (decision 0041): batches of raw events from the stream's
``detection`` group, normalised, matched by the Sigma engine, recorded as alerts.

Per batch, in this order:

1. each raw event is normalised (``tandem.logs.normalise.normalise_event``; an event the
   syslog listener already normalised passes through as it is). One that cannot be
   normalised is counted as malformed and skipped: it never holds up the rest;
2. the engine matches each event; each match becomes a :class:`Detection`;
3. ``record_detections`` records the batch's detections for its tenant, in one transaction;
4. only then is the batch acknowledged.

Delivery is at least once (decision 0035), recording is once (decision 0046): the batch's
key (:func:`batch_key`) is stored with its alerts in step 3's transaction, so a batch
delivered again after its worker died between 3 and 4 records nothing a second time (no
count grows twice, no second alert, no second ticket), and is acknowledged.
A batch whose recording fails is not acknowledged: the stream delivers it again after its
ack wait, and sets it aside after ``max_deliver`` attempts.

Correlation rules keep state between events: each tenant gets an engine of its own
(``Engine.fork``, sharing the compiled rules) so one tenant's events never count towards
another's threshold. That state lives in the worker's memory: a restart starts the counts
afresh, and two workers each see part of a tenant's events (decision 0041).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from tandem.alerts.detections import Detection
from tandem.alerts.services import record_detections
from tandem.detection.engine import Engine, Match, RuleSet, compile_rules, load_rules
from tandem.detection.packs import STARTER
from tandem.logs import streams
from tandem.logs.normalise import NormaliseError, normalise_event
from tandem.logs.workers import GroupWorker

log = logging.getLogger(__name__)

GROUP = "detection"


def rules_path() -> Path:
    """The rules the worker runs: ``TANDEM_DETECTION_RULES``, else the starter pack."""
    return Path(settings.DETECTION_RULES).expanduser() if settings.DETECTION_RULES else STARTER


def load_engine(path: Path | None = None) -> tuple[RuleSet, Engine]:
    """Read the rules once (from the compiled cache under the data directory when it holds
    this pack) and compile the engine. Raises ``FileNotFoundError`` for a missing path."""
    path = path or rules_path()
    if not path.exists():
        raise FileNotFoundError(f"no detection rules at {path} (TANDEM_DETECTION_RULES)")
    ruleset = load_rules(path, cache_dir=settings.DETECTION_CACHE_DIR)
    for refusal in ruleset.refused:
        log.warning("detection rule refused: %s: %s", refusal.source, refusal.reason)
    log.info(
        "detection rules: %d loaded, %d refused, %s in %.2f s (pack %s %s)",
        len(ruleset.loaded),
        len(ruleset.refused),
        "from the cache" if ruleset.from_cache else "parsed",
        ruleset.seconds,
        ruleset.pack.name,
        ruleset.pack.version,
    )
    return ruleset, compile_rules(ruleset)


@dataclass
class Tally:
    """What the worker did, for its log line and for tests."""

    batches: int = 0
    events: int = 0
    malformed: int = 0
    detections: int = 0
    raised: int = 0
    updated: int = 0
    suppressed: int = 0
    refused: int = 0
    #: Batches delivered again whose detections were recorded before (nothing recorded).
    replayed: int = 0
    malformed_reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "events": self.events,
            "malformed": self.malformed,
            "detections": self.detections,
            "raised": self.raised,
            "updated": self.updated,
            "suppressed": self.suppressed,
            "refused": self.refused,
            "replayed": self.replayed,
        }


def batch_key(batch: streams.Batch) -> str:
    """The batch's identity across deliveries: the back-end, its position in the stream, and
    the time it was appended (so a stream emptied and started again, whose positions count
    from the start once more, never matches an older batch's key)."""
    return f"{settings.LOG_STREAM}:{batch.id}:{batch.appended_at!r}"


def default_name() -> str:
    """A consumer name unique to this process (a restarted worker is a new consumer; its
    predecessor's unacknowledged batches go to whoever fetches after the ack wait)."""
    return f"{socket.gethostname()}-{os.getpid()}"[:64].replace(".", "-")


class Matcher(Protocol):
    def match(self, event: dict[str, Any]) -> list[Match]: ...


class TenantRuleHook(Protocol):
    """Each tenant's rules (decision 0044: ``tandem.detection.rulesets.TenantRules``),
    asked once per batch; a change of the tenant's rules shows in the next batch."""

    def for_tenant(self, tenant_id: int) -> Matcher: ...


class DetectionWorker(GroupWorker):
    """Reads the ``detection`` group and records what the rules find."""

    group = GROUP

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        consumer: streams.Consumer | None = None,
        name: str = "",
        rules: TenantRuleHook | None = None,
    ) -> None:
        super().__init__(consumer=consumer, name=name or default_name())
        if engine is None and rules is None:
            raise ValueError("a detection worker needs an engine or each tenant's rules")
        self.engine = engine
        self.rules = rules
        self.tally = Tally()
        self._engines: dict[int, Engine] = {}

    def engine_for(self, tenant_id: int) -> Matcher:
        if self.rules is not None:
            return self.rules.for_tenant(tenant_id)
        assert self.engine is not None
        engine = self._engines.get(tenant_id)
        if engine is None:
            engine = self._engines[tenant_id] = self.engine.fork()
        return engine

    def detect(self, batch: streams.Batch) -> list[Detection]:
        """The detections in one batch (steps 1 and 2); malformed events are counted."""
        engine = self.engine_for(batch.tenant_id)
        received = dt.datetime.fromtimestamp(batch.appended_at, dt.UTC)
        found: list[Detection] = []
        for raw in batch.events:
            self.tally.events += 1
            try:
                event = normalise_event(raw, received_at=received)
            except NormaliseError as exc:
                self._malformed(batch, str(exc))
                continue
            except (TypeError, KeyError, AttributeError, ValueError) as exc:
                # A shape the normaliser did not foresee: one odd event must not send the
                # whole batch round and round until it is set aside as a dead letter.
                self._malformed(batch, f"{type(exc).__name__}: {exc}")
                continue
            for match in engine.match(event):
                found.append(Detection.from_match(match, event, dict(match.group)))
        return found

    def _malformed(self, batch: streams.Batch, reason: str) -> None:
        self.tally.malformed += 1
        self.tally.malformed_reasons[reason[:120]] += 1
        log.debug(
            "tenant %s source %s: event skipped: %s", batch.tenant_id, batch.source_id, reason
        )

    def process(self, batch: streams.Batch) -> None:
        """Steps 1 to 4 for one batch. Raises (and does not acknowledge) when recording
        fails: the stream delivers the batch again."""
        detections = self.detect(batch)
        if detections:
            recorded = record_detections(
                tenant_id=batch.tenant_id, detections=detections, batch_key=batch_key(batch)
            )
            self.tally.replayed += recorded.replayed
            self.tally.detections += len(detections)
            self.tally.raised += len(recorded.raised)
            self.tally.updated += len(recorded.updated)
            self.tally.suppressed += recorded.suppressed
            self.tally.refused += len(recorded.refused)
        self.consumer.ack(batch)
        self.tally.batches += 1
