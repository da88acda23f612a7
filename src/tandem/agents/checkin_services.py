"""The check-in: the hot path every device takes every ``CHECK_IN_INTERVAL`` seconds.

Designed, not left to the ORM (decision 0027): one locked read of the device's agent state,
one read of the report ids already taken (only when reports came), the inventory applied in
memory to the stored document, and then set-based writes: the installed software and
pending updates are diffed against the stored document and written with ``bulk_create``,
one ``DELETE ... WHERE id IN`` and ``bulk_update``, the change history with one
``bulk_create``. A heartbeat or an unchanged inventory writes at most ``last_seen_at``.

A check-in is not an audit event: its effects are recorded as inventory history
(``SoftwareChange``) and the device's ``last_seen_at``. A credential rotation it carries out
is audited. Everything a check-in writes commits together or not at all: a malformed
report anywhere in the batch refuses the whole request, and nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.agents.choices import ReportKind
from tandem.agents.credentials import DEVICE_TAG, new_secret
from tandem.agents.documents import DeltaError, apply, state_hash
from tandem.agents.events import pending_updates_changed
from tandem.agents.models import (
    AgentReport,
    AgentState,
    DeviceCredential,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
)
from tandem.agents.normalise import (
    device_facts,
    software_changes,
    software_rows,
    update_rows,
)
from tandem.agents.services import CHECK_IN_INTERVAL
from tandem.agents.wire import CheckInRequest, Report, WireError
from tandem.assets.models import Device
from tandem.audit.services import record_audit
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant

#: ``last_seen_at`` is written at most this often per device: "online" needs minutes, not
#: seconds, and a write per check-in would double the hot path's cost.
LAST_SEEN_RESOLUTION_SECONDS = 60
SCHEMA_VERSIONS = {1}


@dataclass
class CheckInAnswer:
    """What the server answers a check-in (decision 0025)."""

    accepted: list[str] = field(default_factory=list)
    state_hash: str = ""
    need_full: bool = False
    credential: str | None = None

    def as_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "server_time": now.isoformat(),
            "accepted": self.accepted,
            "state_hash": self.state_hash,
            "need_full": self.need_full,
            "check_in_interval": CHECK_IN_INTERVAL,
            "jobs": [],
            "credential": {"value": self.credential} if self.credential else None,
        }


def _whole_document(report: Report) -> dict[str, Any]:
    document = report.inventory or {}
    if document.get("schema_version") not in SCHEMA_VERSIONS:
        raise WireError(422, "invalid", "inventory: unknown schema_version.")
    try:
        computed = state_hash(document)
    except (TypeError, ValueError) as exc:
        raise WireError(422, "invalid", "inventory: not a canonical JSON document.") from exc
    if report.state_hash is not None and report.state_hash != computed:
        raise WireError(
            422, "hash_mismatch", f"report {report.id}: the inventory does not hash to state_hash."
        )
    return document


def _next_document(
    report: Report, document: dict[str, Any] | None, current_hash: str
) -> dict[str, Any] | None:
    """The device's document after ``report``; None when the server cannot follow it (it
    then answers ``need_full``)."""
    given = [report.inventory is not None, report.delta is not None, bool(report.unchanged)]
    if sum(given) != 1:
        raise WireError(
            422,
            "invalid",
            f"report {report.id}: an inventory report carries exactly one of "
            "inventory, delta or unchanged.",
        )
    if report.inventory is not None:
        return _whole_document(report)
    if report.delta is not None:
        if document is None:
            return None
        try:
            return apply(document, report.delta)
        except DeltaError:
            return None
        except (TypeError, ValueError, AttributeError) as exc:
            raise WireError(422, "invalid", f"report {report.id}: malformed delta.") from exc
    if document is None or report.state_hash != current_hash:
        return None
    return document


def _sync_rows(
    device: Device,
    stored: dict[str, Any],
    wanted: dict[str, Any],
    model: type[Any],
    columns: tuple[str, ...],
) -> None:
    """Make ``model``'s rows of ``device`` equal ``wanted`` (item id → column values),
    given ``stored`` (what the last applied document said): set-based, never per row."""
    gone = stored.keys() - wanted.keys()
    changed = [i for i in wanted.keys() & stored.keys() if wanted[i] != stored[i]]
    added = wanted.keys() - stored.keys()
    if gone:
        model.objects.filter(device=device, item_id__in=sorted(gone)).delete()
    if changed:
        rows = list(model.objects.filter(device=device, item_id__in=sorted(changed)))
        for row in rows:
            for column, value in zip(columns, wanted[row.item_id], strict=True):
                setattr(row, column, value)
        model.objects.bulk_update(rows, list(columns), batch_size=500)
    if added:
        model.objects.bulk_create(
            [
                model(
                    tenant_id=device.tenant_id,
                    device=device,
                    item_id=item_id,
                    **dict(zip(columns, wanted[item_id], strict=True)),
                )
                for item_id in sorted(added)
            ],
            batch_size=1000,
        )


SOFTWARE_COLUMNS = ("name", "version", "architecture", "source_package", "source_version")
UPDATE_COLUMNS = (
    "name",
    "architecture",
    "current_version",
    "candidate_version",
    "security",
    "origin",
)


def _stored(
    device: Device,
    model: type[Any],
    columns: tuple[str, ...],
) -> dict[str, Any]:
    """The rows held for ``device`` (item id → column values), read in one query."""
    rows = model.objects.filter(device=device).values_list("item_id", *columns)
    return {row[0]: tuple(row[1:]) for row in rows}


def _changes(
    device: Device,
    before: dict[str, Any],
    after: dict[str, Any],
    now: dt.datetime,
    report_id: uuid.UUID | None,
) -> list[SoftwareChange]:
    return [
        SoftwareChange(
            tenant_id=device.tenant_id,
            device=device,
            item_id=change.item_id,
            name=change.name,
            architecture=change.architecture,
            kind=change.kind,
            from_version=change.from_version,
            to_version=change.to_version,
            learned_at=now,
            report_id=report_id,
        )
        for change in software_changes(before, after)
    ]


def _confirm_credential(credential: DeviceCredential, now: dt.datetime) -> None:
    """A rotated credential's first use ends the old one (decision 0025: the old one works
    until then, so a lost answer never locks the device out)."""
    if credential.first_used_at is not None:
        return
    DeviceCredential.objects.filter(pk=credential.pk).update(first_used_at=now)
    DeviceCredential.objects.filter(
        device_id=credential.device_id,
        revoked_at__isnull=True,
        created_at__lt=credential.created_at,
    ).update(revoked_at=now)
    credential.first_used_at = now


def check_in(
    *, actor: Principal, credential: DeviceCredential, request: CheckInRequest
) -> dict[str, Any]:
    """Take a device's reports (oldest first) and answer what was accepted (decision 0025).

    ``actor`` is the device's own principal. Reports already taken are acknowledged and not
    applied again; a report with a sequence at or below the last applied one, under an id
    never seen, is a replay and refuses the request. A delta or an "unchanged" report that
    does not follow the stored state stops the batch there with ``need_full``.
    """
    if actor.device_id != credential.device_id or request.device_id != str(credential.device_id):
        raise WireError(403, "wrong_device", "This credential belongs to another device.")
    now = timezone.now()
    answer = CheckInAnswer()
    with transaction.atomic(), within_tenant(credential.tenant_id):
        device = Device.objects.get(pk=credential.device_id)
        state, _ = AgentState.objects.select_for_update().get_or_create(
            device=device, defaults={"tenant_id": device.tenant_id}
        )
        _confirm_credential(credential, now)
        reports = request.reports
        known = (
            {
                str(i)
                for i in AgentReport.objects.filter(
                    device=device, report_id__in=[r.id for r in reports]
                ).values_list("report_id", flat=True)
            }
            if reports
            else set()
        )
        stored_document: dict[str, Any] | None = state.document
        document, current_hash = stored_document, state.state_hash
        taken: list[AgentReport] = []
        history: list[SoftwareChange] = []
        first_report: uuid.UUID | None = None
        sequence = state.last_sequence
        for report in reports:
            report_id = str(report.id)
            if report_id in known:
                answer.accepted.append(report_id)
                continue
            if report.sequence <= sequence:
                raise WireError(
                    422,
                    "replayed",
                    f"report {report_id}: sequence {report.sequence} was already applied.",
                )
            if report.kind == ReportKind.JOB_RESULT:
                # No job exists yet (issue 11's jobs come later): a result names none.
                raise WireError(
                    422, "unknown_job", f"report {report_id}: no job {report.job_id!r} here."
                )
            following = _next_document(report, document, current_hash)
            if following is None:
                answer.need_full = True
                break
            if document is not None and following is not document:
                history += _changes(
                    device, software_rows(document), software_rows(following), now, report.id
                )
            first_report = first_report or report.id
            if following is not document:
                document, current_hash = following, state_hash(following)
            sequence = report.sequence
            known.add(report_id)
            answer.accepted.append(report_id)
            taken.append(
                AgentReport(
                    tenant_id=device.tenant_id,
                    device=device,
                    report_id=report.id,
                    sequence=report.sequence,
                    kind=report.kind,
                    received_at=now,
                )
            )
        device_changes: dict[str, Any] = {}
        if document is not None and document is not stored_document:
            if stored_document is None:
                # Enrolled again: the rows left are the base, and what differs from them
                # is history too. (A device's very first inventory is its baseline.)
                stored_software = _stored(device, InstalledSoftware, SOFTWARE_COLUMNS)
                stored_updates = _stored(device, PendingUpdate, UPDATE_COLUMNS)
                if stored_software:
                    history = _changes(
                        device, stored_software, software_rows(document), now, first_report
                    )
            else:
                stored_software = software_rows(stored_document)
                stored_updates = update_rows(stored_document)
            _sync_rows(
                device,
                stored_software,
                software_rows(document),
                InstalledSoftware,
                SOFTWARE_COLUMNS,
            )
            wanted_updates = update_rows(document)
            _sync_rows(device, stored_updates, wanted_updates, PendingUpdate, UPDATE_COLUMNS)
            if wanted_updates != stored_updates:
                # Patching keeps per-device update states in step (decision 0031).
                pending_updates_changed(
                    tenant_id=device.tenant_id,
                    device_id=device.pk,
                    pending_count=len(wanted_updates),
                )
            SoftwareChange.objects.bulk_create(history, batch_size=1000)
            facts = device_facts(document)
            device_changes = {k: v for k, v in facts.items() if v and getattr(device, k) != v}
            state.document, state.state_hash = document, current_hash
            device_changes["inventory_hash"] = current_hash
        AgentReport.objects.bulk_create(taken, batch_size=1000)
        if (
            device.last_seen_at is None
            or (now - device.last_seen_at).total_seconds() >= LAST_SEEN_RESOLUTION_SECONDS
            or device_changes
        ):
            device_changes["last_seen_at"] = now
        if device_changes:
            Device.objects.filter(pk=device.pk).update(**device_changes)
        state_fields = []
        if sequence != state.last_sequence:
            state.last_sequence = sequence
            state_fields.append("last_sequence")
        if document is not stored_document:
            state_fields += ["document", "state_hash"]
        if request.agent_version and request.agent_version != state.agent_version:
            state.agent_version = request.agent_version
            state_fields.append("agent_version")
        if state.rotate_requested_at is not None:
            if credential.created_at >= state.rotate_requested_at:
                # The new credential is in use: the rotation is done.
                state.rotate_requested_at = None
                state_fields.append("rotate_requested_at")
            else:
                # Still the old one: the answer that carried the new one may have been
                # lost. Issue another (revoking any never used) until one is used.
                DeviceCredential.objects.filter(
                    device=device, revoked_at__isnull=True, first_used_at__isnull=True
                ).exclude(pk=credential.pk).update(revoked_at=now)
                answer.credential = _rotate(actor=actor, device=device, now=now)
        if state_fields:
            state.save(update_fields=[*state_fields, "updated_at"])
        answer.state_hash = current_hash
    return answer.as_json(now)


def _rotate(*, actor: Principal, device: Device, now: dt.datetime) -> str:
    """Issue the device a new credential (audited); the old one works until it is used."""
    raw, prefix, secret_hash = new_secret(DEVICE_TAG)
    credential = DeviceCredential.objects.create(
        tenant_id=device.tenant_id, device=device, prefix=prefix, secret_hash=secret_hash
    )
    record_audit(
        actor=actor,
        action="agents.rotate_device_credential",
        target=device,
        tenant_id=device.tenant_id,
        changes={"credential": [None, credential.prefix], "issued_at": [None, now.isoformat()]},
    )
    return raw
