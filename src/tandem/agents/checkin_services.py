"""The check-in: the hot path every device takes every ``CHECK_IN_INTERVAL`` seconds.

Designed, not left to the ORM (decisions 0027 and 0028): one locked read of the device's
agent state without its document (the device came with the credential), the report ids
already taken read only when a report is not newer than the last applied, the stored
document (packed) read only when a delta must be applied to it, and then set-based writes:
the installed software and pending updates are diffed against the previous document; the
software as de-duplicated titles (``titles``, decision 0043: one lookup, the tenant's new
titles inserted, the device's (device, title) pairs with ``COPY`` or multi-row
``INSERT``), the updates with ``COPY``/``INSERT``, one ``DELETE ... WHERE id IN`` and
``bulk_update``, the change history with one ``bulk_create``. An unchanged inventory
writes its report id and sequence, and ``last_seen_at`` at most once a minute.

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

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Subquery
from django.utils import timezone
from django_tasks import task

from tandem.agents import titles
from tandem.agents.checkin_sql import bound_cursor, insert_reports, read_device, update_row
from tandem.agents.choices import ReportKind
from tandem.agents.credentials import DEVICE_TAG, new_secret
from tandem.agents.documents import DeltaError, apply_canonical, canonical_for, pack, unpack
from tandem.agents.events import pending_updates_changed, reboot_pending_changed
from tandem.agents.jobs_due import jobs_due
from tandem.agents.models import (
    AgentReport,
    AgentState,
    DeviceCredential,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
    SoftwareTitle,
)
from tandem.agents.normalise import (
    SoftwareRow,
    device_facts,
    reboot_pending,
    software_changes,
    software_rows,
    software_rows_after,
    update_rows,
)
from tandem.agents.services import CHECK_IN_INTERVAL
from tandem.agents.titles import COPY_FROM
from tandem.agents.wire import MAX_REPORTS, CheckInRequest, Report, WireError
from tandem.assets.models import Device
from tandem.audit.services import record_audit
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.jobs.services import JobResultError, hand_out_for_check_in, record_result

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
    #: Jobs handed out at this check-in (``tandem.jobs``, decision 0029).
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "server_time": now.isoformat(),
            "accepted": self.accepted,
            "state_hash": self.state_hash,
            "need_full": self.need_full,
            "check_in_interval": CHECK_IN_INTERVAL,
            "jobs": self.jobs,
            "credential": {"value": self.credential} if self.credential else None,
        }


def _table(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _whole_document(report: Report) -> tuple[dict[str, Any], str, bytes]:
    """A full inventory report's document, its hash (checked) and its canonical bytes
    (kept to pack it: made once per document, decision 0028)."""
    document = report.inventory or {}
    if document.get("schema_version") not in SCHEMA_VERSIONS:
        raise WireError(422, "invalid", "inventory: unknown schema_version.")
    try:
        canonical_bytes, computed = canonical_for(document, report.state_hash)
    except (TypeError, ValueError) as exc:
        raise WireError(422, "invalid", "inventory: not a canonical JSON document.") from exc
    if report.state_hash is not None and report.state_hash != computed:
        raise WireError(
            422, "hash_mismatch", f"report {report.id}: the inventory does not hash to state_hash."
        )
    return document, computed, canonical_bytes


class _Held:
    """The device's document as the check-in goes: its hash always at hand, the document
    itself read (and unpacked) only when a delta or a history needs it (decision 0028)."""

    def __init__(self, state: AgentState) -> None:
        self.state = state
        self.hash = state.state_hash
        self.stored_hash = state.state_hash
        self._stored: dict[str, Any] | None = None
        self.document: dict[str, Any] | None = None
        #: ``document``'s canonical bytes (made when its hash was checked), else None.
        self.canonical: bytes | None = None

    def stored(self) -> dict[str, Any] | None:
        """The document held when the check-in began (None when there is none)."""
        if self._stored is None and self.stored_hash:
            packed = (
                AgentState.objects.filter(pk=self.state.pk)
                .values_list("document_gz", flat=True)
                .get()
            )
            self._stored = unpack(packed) if packed is not None else None
        return self._stored

    def current(self) -> dict[str, Any] | None:
        return self.document if self.document is not None else self.stored()

    @property
    def changed(self) -> bool:
        return self.document is not None


def _follow(report: Report, held: _Held) -> bool:
    """Move ``held`` to the state after ``report``; False when the server cannot follow it
    (it then answers ``need_full``). An unchanged report reads nothing."""
    given = [report.inventory is not None, report.delta is not None, bool(report.unchanged)]
    if sum(given) != 1:
        raise WireError(
            422,
            "invalid",
            f"report {report.id}: an inventory report carries exactly one of "
            "inventory, delta or unchanged.",
        )
    if report.inventory is not None:
        held.document, held.hash, held.canonical = _whole_document(report)
        return True
    if report.delta is not None:
        if not held.hash:
            return False
        base = held.current()
        if base is None:
            return False
        try:
            held.document, held.canonical = apply_canonical(
                base, report.delta, previous_hash=held.hash
            )
        except DeltaError:
            return False
        except (TypeError, ValueError, AttributeError) as exc:
            raise WireError(422, "invalid", f"report {report.id}: malformed delta.") from exc
        held.hash = str(report.delta["state_hash"])
        return True
    return bool(held.hash) and report.state_hash == held.hash


def _sync_rows(
    device: Device,
    stored: dict[str, Any],
    wanted: dict[str, Any],
    model: type[Any],
    columns: tuple[str, ...],
    now: dt.datetime,
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
        _insert(device, model, columns, [(i, *wanted[i]) for i in sorted(added)], now)


def _sync_software(
    device: Device,
    stored: dict[str, SoftwareRow],
    wanted: dict[str, SoftwareRow],
    now: dt.datetime,
) -> None:
    """Make ``device``'s software titles those of ``wanted`` (item id → package), given
    ``stored`` (what the last applied document said): a package that changed is another
    title, so it is one row out and one row in (decision 0043). Set-based, never per row."""
    leaving = {i: row for i, row in stored.items() if wanted.get(i) != row}
    # A first inventory holds nothing yet: every package comes (and ~1,500 comparisons
    # with nothing are not made).
    coming = {i: row for i, row in wanted.items() if stored.get(i) != row} if stored else wanted
    if leaving:
        titles.remove_software(device=device, rows=leaving)
    if coming:
        ids = titles.title_ids(tenant_id=device.tenant_id, rows=coming, now=now)
        titles.add_software(device=device, title_ids=ids.values())


def _insert(
    device: Device,
    model: type[Any],
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    now: dt.datetime,
) -> None:
    """Insert ``rows`` (item id, then ``columns``) for ``device``: one ``COPY`` on
    PostgreSQL, one multi-row ``INSERT`` per 500 rows elsewhere; no model instances.
    Written here, in the check-in's transaction and tenant, with the tenant set on every
    row exactly as the ORM would."""
    meta = model._meta
    names = ["created_at", "updated_at", "tenant", "device", "item_id", *columns]
    fields = ", ".join(connection.ops.quote_name(meta.get_field(n).column) for n in names)
    table = connection.ops.quote_name(meta.db_table)
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
        prefix = f"{now.isoformat()}\t{now.isoformat()}\t{device.tenant_id}\t{device.pk}\t"
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({fields}) FROM STDIN") as copy,
        ):
            # The whole COPY text at once: psycopg's ``write_row`` formats value by value
            # (~5 µs a row, a fifth of a first inventory's CPU; decision 0039).
            copy.write(copy_text(prefix, rows))
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    per_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    with bound_cursor() as cursor:
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            cursor.execute(
                # Table and column names come from the model, values are parameters.
                f"INSERT INTO {table} ({fields}) VALUES "  # noqa: S608
                + ", ".join([per_row] * len(batch)),
                [v for row in batch for v in (stamp, stamp, device.tenant_id, device.pk, *row)],
            )


#: What COPY's text format escapes in a value (PostgreSQL, "COPY ... File Formats").
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    return str(value).translate(_COPY_ESCAPES)


def copy_text(prefix: str, rows: list[tuple[Any, ...]]) -> bytes:
    """``rows`` in COPY's text format, each line starting with ``prefix`` (the columns
    every row shares, already formatted). Rows of plain text (the common case) are joined
    as they are; only when a value is not text, or the result holds a character COPY
    escapes beyond the separators put there, is each value formatted on its own."""
    try:
        text = "".join([prefix + "\t".join(row) + "\n" for row in rows])
    except TypeError:
        text = None  # a value that is not text (an update's ``security`` flag)
    if text is not None:
        columns = prefix.count("\t") + len(rows[0]) - 1 if rows else 0
        if (
            "\\" not in text
            and "\r" not in text
            and text.count("\n") == len(rows)
            and text.count("\t") == columns * len(rows)
        ):
            return text.encode()
    return "".join(
        [prefix + "\t".join([_copy_value(v) for v in row]) + "\n" for row in rows]
    ).encode()


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


def _stored_software(device: Device) -> dict[str, SoftwareRow]:
    """The packages held for ``device`` (item id → package), from its titles, in one query
    (an enrolment again, whose rows are the base of the history)."""
    rows = InstalledSoftware.objects.filter(device=device).values_list(
        "title__item_id", *(f"title__{column}" for column in SOFTWARE_COLUMNS)
    )
    return {row[0]: tuple(row[1:]) for row in rows}  # type: ignore[misc]


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
    until then, so a lost answer never locks the device out). One statement: this
    credential's ``first_used_at`` and the revocation of the device's older live ones."""
    if credential.first_used_at is not None:
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    created = connection.ops.adapt_datetimefield_value(credential.created_at)
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name comes from the model, values are parameters.
            f"UPDATE {_table(DeviceCredential)} SET "  # noqa: S608
            "first_used_at = CASE WHEN id = %s THEN %s ELSE first_used_at END, "
            "revoked_at = CASE WHEN id = %s THEN revoked_at ELSE %s END "
            "WHERE device_id = %s AND (id = %s OR (revoked_at IS NULL AND created_at < %s))",
            [
                credential.pk,
                stamp,
                credential.pk,
                stamp,
                credential.device_id,
                credential.pk,
                created,
            ],
        )
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
        # The device came with the credential (one query, in the middleware); only
        # ``last_seen_at`` is read from it unless the inventory changes, and then it is
        # read again under the state's lock.
        device = credential.device
        state = _locked_state(device, now)
        _confirm_credential(credential, now)
        reports = request.reports
        # A report already taken has a sequence at or below the last one applied (sequences
        # only grow), so the ids taken are read only when such a report came.
        known = (
            {
                str(i)
                for i in AgentReport.objects.filter(
                    device=device, report_id__in=[r.id for r in reports]
                ).values_list("report_id", flat=True)
            }
            if any(r.sequence <= state.last_sequence for r in reports)
            else set()
        )
        held = _Held(state)
        # Each document's rows are made once: the history and the row sync both want them,
        # and reading ~1,500 packages is most of a delta's own work (decision 0028).
        rows_made: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

        def software_of(doc: dict[str, Any]) -> dict[str, Any]:
            if id(doc) not in rows_made:
                rows_made[id(doc)] = (doc, software_rows(doc))
            return rows_made[id(doc)][1]

        taken: list[tuple[uuid.UUID, int, str]] = []
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
                # A job's outcome (tandem.jobs, decision 0029); the inventory stays as it is.
                _job_result(actor, device, report, now)
                sequence = report.sequence
                known.add(report_id)
                answer.accepted.append(report_id)
                taken.append(_taken(report))
                continue
            previous = (
                held.current()
                if held.hash and (report.inventory is not None or report.delta is not None)
                else None
            )
            if not _follow(report, held):
                answer.need_full = True
                break
            following = held.document
            if previous is not None and following is not None and following is not previous:
                if report.delta is not None:
                    # Its rows are the previous document's but for the packages it names.
                    rows_made[id(following)] = (
                        following,
                        software_rows_after(software_of(previous), report.delta, following),
                    )
                history += _changes(
                    device, software_of(previous), software_of(following), now, report.id
                )
            first_report = first_report or report.id
            sequence = report.sequence
            known.add(report_id)
            answer.accepted.append(report_id)
            taken.append(_taken(report))
        device_changes: dict[str, Any] = {}
        state_fields = []
        if held.document is not None:
            document = held.document
            read_device(device)  # again, under the state's lock: what is compared
            stored_document = held.stored()
            if stored_document is None and not device.inventory_hash:
                # The device's very first inventory: its baseline. No rows can be held
                # (only an applied inventory writes them, and it sets ``inventory_hash``
                # too), so none are read: that read cost more than the rows' COPY.
                stored_software, stored_updates = {}, {}
            elif stored_document is None:
                # Enrolled again: the rows left are the base, and what differs from them
                # is history too.
                stored_software = _stored_software(device)
                stored_updates = _stored(device, PendingUpdate, UPDATE_COLUMNS)
                if stored_software:
                    history = _changes(
                        device, stored_software, software_of(document), now, first_report
                    )
            else:
                stored_software = software_of(stored_document)
                stored_updates = update_rows(stored_document)
            _sync_software(device, stored_software, software_of(document), now)
            wanted_updates = update_rows(document)
            _sync_rows(device, stored_updates, wanted_updates, PendingUpdate, UPDATE_COLUMNS, now)
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
            pending = reboot_pending(document)
            if pending != device.reboot_pending:
                # Since when the reboot has been pending drives reboot debt (decision 0033).
                device_changes["reboot_pending"] = pending
                device_changes["reboot_pending_since"] = now if pending else None
                reboot_pending_changed(
                    tenant_id=device.tenant_id, device_id=device.pk, pending=pending
                )
            state.document_gz, state.state_hash = pack(document, held.canonical), held.hash
            state_fields += ["document_gz", "state_hash"]
            device_changes["inventory_hash"] = held.hash
        insert_reports(device, taken, now)
        if (
            device.last_seen_at is None
            or (now - device.last_seen_at).total_seconds() >= LAST_SEEN_RESOLUTION_SECONDS
            or device_changes
        ):
            device_changes["last_seen_at"] = now
        if device_changes:
            update_row(Device, pk=device.pk, tenant_id=device.tenant_id, values=device_changes)
        if sequence != state.last_sequence:
            state.last_sequence = sequence
            state_fields.append("last_sequence")
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
            # As ``save(update_fields=...)`` wrote them, ``updated_at`` with them.
            state.updated_at = now
            update_row(
                AgentState,
                pk=state.pk,
                tenant_id=device.tenant_id,
                values={name: getattr(state, name) for name in [*state_fields, "updated_at"]},
            )
        answer.state_hash = held.hash
        # Jobs due now (decision 0030): the locked state read said whether any are, so the
        # common check-in (none due) spends no statement of its own on them (decision 0028).
        if state.jobs_due:  # type: ignore[attr-defined]
            answer.jobs = hand_out_for_check_in(actor=actor, device_id=device.pk, now=now)
    return answer.as_json(now)


def _taken(report: Report) -> tuple[uuid.UUID, int, str]:
    """The record that a report was taken (its id acknowledged again if resent):
    written by ``checkin_sql.insert_reports``."""
    return (report.id, report.sequence, report.kind)


def _job_result(actor: Principal, device: Device, report: Report, now: dt.datetime) -> None:
    """Record a ``job_result`` report; a job that is not this device's refuses the request."""
    try:
        record_result(
            actor=actor,
            device_id=device.pk,
            job_id=report.job_id,
            status=report.status,
            exit_code=report.exit_code,
            output=report.output,
            report_id=report.id,
            now=now,
        )
    except JobResultError as error:
        raise WireError(422, error.code, f"report {report.id}: {error.detail}") from error


#: The agent state's columns the check-in reads (not the document: decision 0028).
_STATE_COLUMNS = ("id", "state_hash", "last_sequence", "agent_version", "rotate_requested_at")


def _locked_state(device: Device, now: dt.datetime) -> AgentState:
    """The device's agent state, locked for the check-in, without its document, and
    ``jobs_due``: whether any of the device's jobs is due at ``now`` (``jobs.queries``'s
    one definition, asked in the same statement: decision 0028). Plain SQL (decision 0049:
    the queryset cost ~2.5 ms of CPU to build, compile and turn into an instance); the
    state is reached by the device the credential came with. On SQLite the check-in's
    ``BEGIN IMMEDIATE`` is the lock."""
    due_sql, due_params = jobs_due(connection.ops.adapt_datetimefield_value(now))
    lock = " FOR UPDATE OF a" if connection.vendor == "postgresql" else ""
    select = ", ".join(f"a.{column}" for column in _STATE_COLUMNS)
    sql = (
        # The table name comes from the model, the jobs-due text from ``jobs_due``.
        f"SELECT {select}, EXISTS({due_sql}) FROM {_table(AgentState)} a "  # noqa: S608
        f"WHERE a.device_id = %s{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*due_params, device.pk])
        row = cursor.fetchone()
        if row is None:
            AgentState.objects.get_or_create(
                device=device, defaults={"tenant_id": device.tenant_id}
            )
            cursor.execute(sql, [*due_params, device.pk])
            row = cursor.fetchone()
    values = dict(zip(_STATE_COLUMNS, row, strict=False))
    rotate = values["rotate_requested_at"]
    if rotate is not None and timezone.is_naive(rotate):  # SQLite: UTC, the zone left off
        rotate = timezone.make_aware(rotate, dt.UTC)
    state = AgentState(
        **{**values, "rotate_requested_at": rotate},
        tenant_id=device.tenant_id,
        device_id=device.pk,
    )
    state._state.adding = False
    state.jobs_due = bool(row[-1])  # type: ignore[attr-defined]
    return state


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


#: Report ids kept per device whatever their age: the most a check-in may carry, so every
#: report an agent could still send again (its last request, answer lost) stays known.
KEEP_NEWEST_REPORTS = MAX_REPORTS


def purge_agent_reports(*, keep: dt.timedelta | None = None, now: dt.datetime | None = None) -> int:
    """Delete report ids older than ``keep`` (default ``AGENT_REPORTS_KEEP_DAYS``) beyond
    each device's newest :data:`KEEP_NEWEST_REPORTS`; returns how many.

    The ids exist to acknowledge a report sent again after a lost answer instead of
    refusing it as a replay (decision 0027). An agent sends again only what its last request
    carried (at most ``MAX_REPORTS``), and anything older than the last report applied is
    refused by its sequence anyway, so older ids only grow the table: one row per check-in,
    86 million a day at 100,000 devices (decision 0028). Device by device, so no statement
    scans or locks much; a pure deletion of bookkeeping, not audited.
    """
    now = now or timezone.now()
    keep = keep if keep is not None else dt.timedelta(days=settings.AGENT_REPORTS_KEEP_DAYS)
    cutoff = now - keep
    deleted = 0
    with system_context("purge agent report ids"):
        devices = list(
            AgentReport.objects.filter(received_at__lt=cutoff)
            .order_by()
            .values_list("device_id", flat=True)
            .distinct()
        )
        for device_id in devices:
            # Ids grow with insertion: the newest rows of a device are its highest ids,
            # also across an enrolment again (which starts the sequence anew).
            newest = (
                AgentReport.objects.filter(device_id=device_id)
                .order_by("-id")
                .values_list("id", flat=True)[KEEP_NEWEST_REPORTS - 1 : KEEP_NEWEST_REPORTS]
            )
            count, _ = AgentReport.objects.filter(
                device_id=device_id, received_at__lt=cutoff, id__lt=Subquery(newest)
            ).delete()
            deleted += count
    return deleted


@task()
def purge_agent_reports_task() -> int:
    """Delete report ids past their keeping time (daily: ``AgentsConfig.schedule``)."""
    return purge_agent_reports()


#: Titles examined per purge transaction: each holds its tenants' title lock exclusively
#: (check-ins adding software to those tenants wait), so it stays short.
PURGE_TITLES_BATCH = 1000


def purge_unheld_titles(*, batch: int = PURGE_TITLES_BATCH) -> int:
    """Delete the software titles no device holds any more; returns how many.

    A title outlives its last device (a package upgraded everywhere leaves its old
    version's title behind); titles are derived rows, made again by the next check-in
    that reports the package (decision 0049). In id order, ``batch`` titles per
    transaction (``titles.delete_unheld``: safe against a check-in inserting rows that
    name a title being purged). Not audited: it deletes nothing a user made or can see.
    """
    deleted, last = 0, 0
    with system_context("purge software titles no device holds"):
        while True:
            chunk = list(
                SoftwareTitle.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "tenant_id")[:batch]
            )
            if not chunk:
                return deleted
            last = chunk[-1][0]
            deleted += titles.delete_unheld(chunk)


@task()
def purge_unheld_titles_task() -> int:
    """Delete software titles no device holds (daily: ``AgentsConfig.schedule``)."""
    return purge_unheld_titles()
