"""Sender batch ids at the ingest endpoint (decision 0050): a batch sent again because its
answer was lost gets the first answer and appends nothing.

A sender names each batch (``Tandem-Batch-Id``; the agent does). Per source and sender
(the device, for an agent) the endpoint keeps the id and its answer for
:data:`~tandem.logs.models.ACCEPTED_BATCH_HOURS`:

1. :func:`claim_batch` commits the id (answer empty) with a stream position taken before
   it, *before* anything is appended. A repeat finds the answer (replayed), or the id
   being taken by a request still in flight (the sender is told to come back), or an
   attempt that died between its append and its answer: the taker then asks the stream
   which of the batch's records came after that position and appends only the others
   (each record carries its id: ``<source>.<sender>.<batch id>.<n>``).
2. :func:`settle_batch` stores the answer once the stream holds the batch;
   :func:`forget_batch` drops the claim when nothing was appended (a resend starts afresh).

So whether a receiver dies before, during or after its append, the batch is in the stream
once. Bookkeeping of the hot path, like the quota windows: not audited.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from tandem.core.scoping import system_context, within_tenant
from tandem.logs.models import ACCEPTED_BATCH_HOURS, AcceptedBatch, IngestSource

#: What a batch id may be: what fits a NATS message id and a log line, plainly.
BATCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
#: A claim younger than this may belong to a request still running (gunicorn's timeout is
#: 30 s): its repeat is told to come back rather than taking the batch over.
IN_FLIGHT_SECONDS = 120


@dataclass
class Claim:
    """What :func:`claim_batch` found: the answer to replay, a claim still in flight, or
    the claim to take the batch under (``earlier``: an attempt died after claiming it, so
    part of the batch may be in the stream after ``row.mark`` already)."""

    row: AcceptedBatch | None = None
    earlier: bool = False
    replay: tuple[int, dict[str, Any]] | None = None
    in_flight: bool = False


def claim_batch(
    *,
    source: IngestSource,
    sender: str,
    batch_id: str,
    mark: Callable[[], int],
    now: dt.datetime | None = None,
) -> Claim:
    """Claim ``batch_id`` for this request (committed on return), or say why not."""
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(source.tenant_id):
        row = (
            AcceptedBatch.objects.select_for_update()
            .filter(source=source, sender=sender, batch_id=batch_id)
            .first()
        )
        if row is None:
            try:
                with transaction.atomic():
                    row = AcceptedBatch.objects.create(
                        tenant_id=source.tenant_id,
                        source=source,
                        sender=sender,
                        batch_id=batch_id,
                        mark=mark(),
                    )
            except IntegrityError:  # claimed by a request that came in meanwhile
                return Claim(in_flight=True)
            return Claim(row=row)
        if row.answer is not None and row.status is not None:
            return Claim(replay=(row.status, row.answer))
        if row.updated_at > now - dt.timedelta(seconds=IN_FLIGHT_SECONDS):
            return Claim(in_flight=True)
        row.save(update_fields=["updated_at"])  # this request takes the batch over
        return Claim(row=row, earlier=True)


def settle_batch(*, row: AcceptedBatch, status: int, answer: dict[str, Any]) -> None:
    """Store the answer the batch got: a repeat of its id gets it too."""
    with within_tenant(row.tenant_id):
        AcceptedBatch.objects.filter(pk=row.pk).update(
            status=status, answer=answer, updated_at=timezone.now()
        )


def forget_batch(*, row: AcceptedBatch) -> None:
    """Drop a claim under which nothing was appended (refused, over quota, stream busy)."""
    with within_tenant(row.tenant_id):
        AcceptedBatch.objects.filter(pk=row.pk, answer__isnull=True).delete()


def purge_accepted_batches(now: dt.datetime | None = None) -> int:
    """Forget batch ids older than :data:`ACCEPTED_BATCH_HOURS` (the hourly job)."""
    before = (now or timezone.now()) - dt.timedelta(hours=ACCEPTED_BATCH_HOURS)
    with system_context("purge accepted ingest batch ids"):
        deleted, _ = AcceptedBatch.objects.filter(created_at__lt=before).delete()
    return deleted


@task()
def purge_accepted_batches_task() -> int:
    """``LogsConfig.schedule``: hourly."""
    return purge_accepted_batches()
