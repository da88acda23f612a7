"""The unchanged check-in in raw SQL: what almost every check-in is (decision 0039).

100,000 devices every 100 seconds are 1,000 check-ins a second, and nearly all of them say
"my inventory is as you hold it" (or nothing). Through the ORM such a check-in was a
credential read with its device, a transaction, a locked state read, a report insert and a
state update, about 5 ms of CPU in the web process (decision 0028). Here it is **one
statement** on PostgreSQL (a data-modifying ``WITH``: authenticate, check, lock and write
in one round trip, atomic on its own in autocommit), and three small ones in one
``BEGIN IMMEDIATE`` transaction on SQLite; no model instance, no queryset.

It takes only the case it can answer exactly as :func:`checkin_services.check_in` would,
and writes nothing otherwise: every report is an ``unchanged`` inventory report newer than
the last applied, under distinct ids and increasing sequences, naming the state hash held;
the credential is live and already confirmed (``first_used_at`` set), its device active
and the one the body names; no rotation is pending; no job is due; and, with no report,
the agent version is the one held (the full path would write it). Anything else — a
report sent again, a replay, a delta, a full inventory, a job result, a rotation,
``need_full``, an unknown or revoked credential, a bad body — returns None and the caller
answers through the full path, which then does everything as before (a failed attempt
here has written nothing). ``tests/test_unchanged_lane.py`` sends the same requests both
ways and compares answers and rows, on SQLite and PostgreSQL.

**Scope.** The statements run without the ORM's tenant managers, so this module carries
the device principal's fail-closed rule itself: every row read or written is reached from
the credential row its secret hash selects — the device id and tenant id written come from
that row inside the statement, never from the request (the body's ``device_id`` is only
compared with it). Nothing else is parameterised by the caller.

Not audited, as the full check-in (decision 0027/0030): it records the report ids,
the sequence and ``last_seen_at``; a rotation or a job, which are audited, take the full
path.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any, NamedTuple

import psycopg
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from tandem.agents.checkin_services import LAST_SEEN_RESOLUTION_SECONDS, CheckInAnswer
from tandem.agents.choices import ReportKind
from tandem.agents.credentials import DEVICE_TAG, hash_secret, well_formed
from tandem.agents.jobs_due import jobs_due, jobs_due_sql
from tandem.agents.models import AgentReport, AgentState, DeviceCredential
from tandem.agents.wire import CheckInRequest
from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device

#: The largest id PostgreSQL's ``bigint`` holds: a device id beyond it is no device's.
_MAX_ID = 2**63 - 1
_NEVER_BY_COUNT = 2**31


def _table(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


class _Check(NamedTuple):
    """What the lane's statements are given: all from the request, the secret hashed."""

    secret_hash: str
    device_id: int
    ids: list[uuid.UUID]
    sequences: list[int]
    held_hash: str
    agent_version: str
    now: dt.datetime


def _eligible(request: CheckInRequest) -> tuple[int, list[uuid.UUID], list[int], str] | None:
    """(device id the body names, report ids, sequences, the hash they name) when the
    request is a heartbeat or unchanged reports only; None sends it to the full path."""
    device_id = request.device_id
    if not device_id.isdigit() or str(int(device_id)) != device_id or int(device_id) > _MAX_ID:
        return None  # the full path compares the text: "007" is not device 7 there
    ids: list[uuid.UUID] = []
    sequences: list[int] = []
    hashes: set[str] = set()
    for report in request.reports:
        if (
            report.kind != ReportKind.INVENTORY
            or report.unchanged is not True
            or report.inventory is not None
            or report.delta is not None
            or report.state_hash is None
        ):
            return None
        if sequences and report.sequence <= sequences[-1]:
            return None  # a replay within the batch: the full path refuses it
        ids.append(report.id)
        sequences.append(report.sequence)
        hashes.add(report.state_hash)
    if len(hashes) > 1 or len(set(ids)) != len(ids) or "" in hashes:
        return None
    return int(device_id), ids, sequences, hashes.pop() if hashes else ""


def check_in_unchanged(
    *, raw_credential: str, request: CheckInRequest, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """Answer an unchanged check-in (or a heartbeat) from raw SQL, or None — nothing
    written — when it is not that case; the caller then takes the full path.

    ``raw_credential``: the bearer secret as sent. The actor is the device whose live
    credential it is; the statements find that device from the secret's hash alone.
    """
    if not well_formed(raw_credential, DEVICE_TAG):
        return None
    eligible = _eligible(request)
    if eligible is None:
        return None
    device_id, ids, sequences, held_hash = eligible
    now = now or timezone.now()
    check = _Check(
        hash_secret(raw_credential),
        device_id,
        ids,
        sequences,
        held_hash,
        request.agent_version,
        now,
    )
    try:
        if connection.vendor != "postgresql":
            state_hash = _sqlite(check)
        elif connection.in_atomic_block:
            # Inside a caller's transaction (the tests'): a savepoint, so a refused insert
            # leaves it usable and the full path can still answer.
            with transaction.atomic():
                state_hash = _postgresql(check)
        else:
            # Autocommit: the one statement is its own transaction (no BEGIN, no COMMIT).
            state_hash = _postgresql(check)
    except IntegrityError:
        # A report id taken before under a newer sequence: the full path says what that is.
        return None
    if state_hash is None:
        return None
    answer = CheckInAnswer(accepted=[str(i) for i in ids], state_hash=state_hash)
    return answer.as_json(now)


def _auth_sql() -> str:
    """The credential with its device, live and confirmed, of the device the body names."""
    return (
        f"SELECT c.device_id, c.tenant_id, d.last_seen_at "  # noqa: S608 - names from models
        f"FROM {_table(DeviceCredential)} c JOIN {_table(Device)} d ON d.id = c.device_id "
        "WHERE c.secret_hash = %s AND c.revoked_at IS NULL AND c.first_used_at IS NOT NULL "
        "AND d.status = %s AND c.device_id = %s"
    )


@cache
def _postgresql_statement(with_reports: bool) -> str:
    """The one statement (its text is the same for every check-in of a shape, so
    PostgreSQL prepares it once per connection): authenticate (``a``), lock and update
    the state when every condition holds (``s``: its ``UPDATE`` takes the row lock and
    re-checks the conditions on the newest row version, as the full path's ``SELECT …
    FOR UPDATE`` does), insert the report ids (``t``), and write ``last_seen_at`` when it
    is due (``seen``); it returns the state hash held, or no row."""
    due_sql, _ = jobs_due_sql("postgresql")
    state, report, device = _table(AgentState), _table(AgentReport), _table(Device)
    if with_reports:
        # The sequence and the agent version are written, as the full path does.
        state_cte = (
            f"UPDATE {state} s SET last_sequence = %s, updated_at = %s, "  # noqa: S608
            "agent_version = CASE WHEN %s = '' THEN s.agent_version ELSE %s END "
            "FROM a WHERE s.device_id = a.device_id AND s.rotate_requested_at IS NULL "
            "AND s.state_hash = %s AND s.last_sequence < %s "
            f"AND NOT EXISTS ({due_sql}) "
            "RETURNING s.device_id, s.tenant_id, s.state_hash"
        )
        taken = (
            f", t AS (INSERT INTO {report} (created_at, updated_at, tenant_id, device_id, "  # noqa: S608
            "report_id, sequence, kind, received_at) "
            "SELECT %s, %s, s.tenant_id, s.device_id, r.report_id, r.sequence, %s, %s "
            "FROM s CROSS JOIN unnest(%s::uuid[], %s::bigint[]) AS r(report_id, sequence))"
        )
    else:
        # A heartbeat: the state is only locked (the full path writes nothing to it).
        state_cte = (
            f"SELECT s.device_id, s.tenant_id, s.state_hash FROM {state} s "  # noqa: S608
            "JOIN a ON s.device_id = a.device_id WHERE s.rotate_requested_at IS NULL "
            "AND (%s = '' OR s.agent_version = %s) "
            f"AND NOT EXISTS ({due_sql}) FOR UPDATE OF s"
        )
        taken = ""
    return (
        # Table names from the models; every value is a bound parameter.
        f"WITH a AS ({_auth_sql()}), s AS ({state_cte}){taken}, "  # noqa: S608
        f"seen AS (UPDATE {device} d SET last_seen_at = %s FROM s JOIN a "  # noqa: S608
        "ON a.device_id = s.device_id WHERE d.id = s.device_id "
        "AND (a.last_seen_at IS NULL OR a.last_seen_at <= %s)) "
        "SELECT s.state_hash FROM s"
    )


class _PreparedCursor(psycopg.Cursor[Any]):
    """A psycopg cursor binding values on the server and preparing each statement on its
    first use (Django's cursors bind on the client and never prepare): the statement is
    planned once per connection instead of once per check-in. Behind a connection pooler
    in transaction mode (PgBouncer), prepared statements need its ``max_prepared_statements``."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True)


def _postgresql(check: _Check) -> str | None:
    """Run :func:`_postgresql_statement` for this check-in."""
    secret_hash, device_id, ids, sequences, held_hash, agent_version, now = check
    _, due_params = jobs_due(now)
    stale = now - dt.timedelta(seconds=LAST_SEEN_RESOLUTION_SECONDS)
    params: list[Any] = [secret_hash, DeviceStatus.ACTIVE, device_id]
    if ids:
        params += [sequences[-1], now, agent_version, agent_version, held_hash, sequences[0]]
        params += [*due_params, now, now, ReportKind.INVENTORY, now, ids, sequences]
    else:
        params += [agent_version, agent_version, *due_params]
    params += [now, stale]
    # The statement is its own health check: Django's (``CONN_HEALTH_CHECKS``) would spend
    # a ``SELECT 1`` round trip per check-in. A connection found dead here wrote nothing
    # (or committed a check-in whose answer is lost, which the agent's resend then finds
    # acknowledged): it is closed, and the full path reconnects and answers.
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's automatic preparing off (None), which also refuses an
        # explicit ``prepare=True``; a threshold no statement reaches keeps it off for
        # every other statement and lets this one be prepared.
        raw.prepare_threshold = _NEVER_BY_COUNT
    try:
        # Django's cursor wrapper around the prepared cursor: its error translation, and
        # the query log when queries are logged (tests, DEBUG).
        with connection._prepare_cursor(_PreparedCursor(raw)) as cursor:  # type: ignore[attr-defined]
            cursor.execute(_postgresql_statement(bool(ids)), params)
            row = cursor.fetchone()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return None
    return None if row is None else str(row[0])


def _sqlite(check: _Check) -> str | None:
    """SQLite has no data-modifying ``WITH``: the state's conditional update (or, for a
    heartbeat, its read) with the authentication folded in, then the report ids and
    ``last_seen_at``, in one transaction (``BEGIN IMMEDIATE``: the write lock first)."""
    secret_hash, device_id, ids, sequences, held_hash, agent_version, now = check
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    stale = ops.adapt_datetimefield_value(now - dt.timedelta(seconds=LAST_SEEN_RESOLUTION_SECONDS))
    due_sql, due_params = jobs_due(stamp)
    state, report, device = _table(AgentState), _table(AgentReport), _table(Device)
    auth = f"SELECT a.device_id FROM ({_auth_sql()}) a"  # noqa: S608 - no value in the text
    auth_params: list[Any] = [secret_hash, DeviceStatus.ACTIVE, device_id]
    # ``a`` for the jobs condition: the state row's device is the credential's.
    due = due_sql.replace("a.device_id", "s.device_id")
    with transaction.atomic(), connection.cursor() as cursor:
        if ids:
            cursor.execute(
                f"UPDATE {state} AS s SET last_sequence = %s, updated_at = %s, "  # noqa: S608
                "agent_version = CASE WHEN %s = '' THEN s.agent_version ELSE %s END "
                f"WHERE s.device_id = ({auth}) AND s.rotate_requested_at IS NULL "
                "AND s.state_hash = %s AND s.last_sequence < %s "
                f"AND NOT EXISTS ({due}) "
                "RETURNING device_id, tenant_id, state_hash",
                [
                    sequences[-1],
                    stamp,
                    agent_version,
                    agent_version,
                    *auth_params,
                    held_hash,
                    sequences[0],
                    *due_params,
                ],
            )
        else:
            cursor.execute(
                f"SELECT s.device_id, s.tenant_id, s.state_hash FROM {state} AS s "  # noqa: S608
                f"WHERE s.device_id = ({auth}) AND s.rotate_requested_at IS NULL "
                f"AND (%s = '' OR s.agent_version = %s) AND NOT EXISTS ({due})",
                [*auth_params, agent_version, agent_version, *due_params],
            )
        row = cursor.fetchone()
        if row is None:
            return None
        # The device and tenant come from the credential's row (through the state's).
        held_device, tenant_id, state_hash = row
        if ids:
            cursor.execute(
                f"INSERT INTO {report} (created_at, updated_at, tenant_id, device_id, "  # noqa: S608
                "report_id, sequence, kind, received_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(ids)),
                [
                    v
                    for report_id, sequence in zip(ids, sequences, strict=True)
                    # SQLite keeps a UUIDField as its 32 hex digits, as the ORM writes it.
                    for v in (
                        stamp,
                        stamp,
                        tenant_id,
                        held_device,
                        report_id.hex,
                        sequence,
                        ReportKind.INVENTORY,
                        stamp,
                    )
                ],
            )
        cursor.execute(
            f"UPDATE {device} SET last_seen_at = %s WHERE id = %s "  # noqa: S608
            "AND (last_seen_at IS NULL OR last_seen_at <= %s)",
            [stamp, held_device, stale],
        )
    return str(state_hash)
