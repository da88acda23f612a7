"""Domain events: what happened, recorded with the change, told to subscribers after commit.

A service records an event (:func:`record`) inside its own transaction: one INSERT into the
outbox table (:class:`~tandem.core.models.OutboxEvent`, a plain statement made once per
process from the model's columns), so the event exists exactly when the change does. Once the
transaction commits, subscribers run:

- *inline* subscribers (cheap, e.g. an in-app notice) right after the commit, in the process
  that made the change;
- every other subscriber in the worker (:func:`dispatch_due_events_task`): a committed
  transaction enqueues one such task, or none when one is already waiting that will take its
  rows up (:func:`hand_to_worker`), so a busy server does not queue a task per request.

Delivery is at least once and never lost: each subscriber is marked handled on the outbox row
in the same transaction as its own writes, so a retry runs only the ones still due; a
failure is recorded on the row (``last_error``, ``attempts``) and retried with backoff; and a
periodic sweep (:func:`redispatch_events`) takes up rows a lost task or a dead process left
behind. A subscriber that talks to the outside world (SMTP, HTTP) must still be idempotent
for the case where it ran but its mark did not commit: the outbox row's id is its key.

Apps declare subscribers in a ``subscribers`` module (imported by :func:`load_subscribers`
when the apps are ready) with :func:`subscriber`; event types are frozen dataclasses of plain
values, registered with :func:`event_type` under a stable ``type`` string such as
``ticket.opened``. See docs/decisions/0022-domain-events.md.

Why not Django signals: a signal runs inside the sender's transaction, in the sender's
process, and is lost with it; it carries model instances rather than a stable record; and
nothing retries a receiver that failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Max
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from tandem.core.models import OutboxEvent
from tandem.core.scoping import outside_any_scope, system_context

log = logging.getLogger(__name__)

#: A row whose task has not run after this long is taken up by the sweeper.
GRACE = dt.timedelta(minutes=2)
#: A worker that claimed a row is presumed dead after this long.
LEASE = dt.timedelta(minutes=5)
#: Waits after the 1st, 2nd, ... failed dispatch; the last one repeats (never given up).
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
#: Subscribers of every type (e.g. webhooks, which a tenant may point at any event).
ANY = "*"
SWEEP_BATCH = 1000
#: Rows deleted per statement by :func:`purge_dispatched`.
PURGE_BATCH = 5000


@dataclass(frozen=True, kw_only=True)
class Event:
    """What happened, in plain values (ids, strings, numbers, ISO timestamps): never model
    instances, so the event reads the same in the worker, tomorrow, as when it was recorded.
    ``tenant_id`` is the tenant it happened in (None for instance-wide events)."""

    type: ClassVar[str] = ""
    tenant_id: int | None

    def payload(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values.pop("tenant_id")
        return values


E = TypeVar("E", bound=type[Event])
_TYPES: dict[str, type[Event]] = {}


def event_type(cls: E) -> E:
    """Register an event class under its ``type`` (unique, stable: webhooks name it)."""
    if not cls.type or cls.type == ANY:
        raise ValueError(f"{cls.__name__} needs a type string")
    if _TYPES.get(cls.type, cls) is not cls:
        raise ValueError(f"event type {cls.type} is registered twice")
    _TYPES[cls.type] = cls
    return cls


def event_types() -> dict[str, type[Event]]:
    """The catalogue: every registered type string and its class."""
    return dict(sorted(_TYPES.items()))


def decode(row: OutboxEvent) -> Event:
    cls = _TYPES[row.type]
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in row.payload.items() if k in names}
    return cls(tenant_id=row.tenant_id, **values)


@dataclass(frozen=True)
class Envelope:
    """What the outbox knows of an event beside its values: its row's id (a subscriber's
    idempotency key) and when it was recorded."""

    id: int
    type: str
    occurred_at: dt.datetime


Handler = Callable[[Any, Envelope], None]


@dataclass(frozen=True)
class Subscriber:
    """One reaction to some event types. ``handle(event, envelope)`` runs in a transaction
    of its own (with the outbox row's mark) and a named system context."""

    name: str
    types: frozenset[str]
    handle: Handler
    inline: bool = False


_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscriber(
    *types: str, inline: bool = False, name: str | None = None
) -> Callable[[Handler], Handler]:
    """Declare a subscriber of ``types`` (or :data:`ANY`). ``inline`` ones run right after
    the commit in the process that made the change, and fall back to the worker when they
    fail; keep them cheap. The name (default: module and function) is what the outbox row
    records as handled, so renaming a subscriber runs it again for pending rows."""

    def register(func: Handler) -> Handler:
        key = name or f"{func.__module__}.{func.__name__}"
        if key in _SUBSCRIBERS:
            raise ValueError(f"subscriber {key} is registered twice")
        _SUBSCRIBERS[key] = Subscriber(key, frozenset(types), func, inline)
        subscribers_of.cache_clear()
        return func

    return register


@functools.cache
def subscribers_of(event_type_name: str) -> tuple[Subscriber, ...]:
    return tuple(s for s in _SUBSCRIBERS.values() if event_type_name in s.types or ANY in s.types)


def load_subscribers() -> None:
    """Import every installed Tandem app's ``subscribers`` module (and ``events``, so the
    catalogue is whole) once the apps are ready."""
    for config in apps.get_app_configs():
        if not config.name.startswith("tandem."):
            continue
        for module in ("events", "subscribers"):
            try:
                importlib.import_module(f"{config.name}.{module}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.{module}":
                    raise


# --- Recording ---------------------------------------------------------------------------------


def _eager() -> bool:
    """The test suite runs subscribers as soon as an event is recorded, inside the test's
    transaction (which never commits): ``EVENTS_EAGER`` (see tests/fixtures.py)."""
    return bool(getattr(settings, "EVENTS_EAGER", False))


def record(event: Event, *, now: dt.datetime | None = None) -> int:
    """Write ``event`` to the outbox in the caller's transaction; its subscribers run once
    that transaction commits (never if it rolls back). One INSERT; an event nobody
    subscribes to is written as already dispatched. Returns the outbox row's id."""
    if _TYPES.get(event.type) is not type(event):
        raise ValueError(f"{type(event).__name__} is not a registered event type")
    now = now or timezone.now()
    subs = subscribers_of(event.type)
    event_id = _insert(
        {
            "type": event.type,
            "tenant_id": event.tenant_id,
            "payload": event.payload(),
            "occurred_at": now,
            "dispatched_at": None if subs else now,
            "next_attempt_at": now + GRACE if subs else None,
        }
    )
    if not subs:
        return event_id
    if _eager():
        # As production would: inline subscribers in the recording request's scope, the
        # worker's outside any (decision 0032's device scope, still set inside a check-in,
        # would otherwise refuse a worker subscriber's reads of other models).
        if dispatch(event_id, now=now, inline_only=True, claim=False) in ("pending", "failed"):
            with outside_any_scope():
                dispatch(event_id, now=now, claim=False)
        return event_id
    _batch_for_commit().append((event_id, event.type))
    return event_id


@functools.cache
def _outbox_fields() -> tuple[models.Field[Any, Any], ...]:
    """Every column the outbox's ``INSERT`` writes: all concrete fields but the id."""
    return tuple(
        cast("models.Field[Any, Any]", f)
        for f in OutboxEvent._meta.concrete_fields
        if not f.primary_key
    )


@functools.cache
def _insert_sql(vendor: str, returning: bool) -> str:
    """The outbox row's ``INSERT`` (made once per process and database kind from the
    model's columns), returning the new id where the database can."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = _outbox_fields()
    sql = (
        # Table and column names come from the model, values are parameters.
        f"INSERT INTO {quote(OutboxEvent._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(str(f.column)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    return f"{sql} RETURNING {quote(str(OutboxEvent._meta.pk.column))}" if returning else sql


def _insert(values: dict[str, Any]) -> int:
    """Write one outbox row: the very row ``OutboxEvent.objects.create(**values)`` would
    (each value adapted by its field's ``get_db_prep_save``, the others at their field's
    default), in one plain statement. Through the ORM, building and compiling that
    ``INSERT`` was ~0.35 ms of a request's CPU per event (decision 0049, fourth round)."""
    connection = connections[DEFAULT_DB_ALIAS]
    params = [
        field.get_db_prep_save(
            values[field.attname] if field.attname in values else field.get_default(),
            connection,
        )
        for field in _outbox_fields()
    ]
    returning = bool(connection.features.can_return_columns_from_insert)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, returning), params)
        if returning:
            return int(cursor.fetchone()[0])
        return int(connection.ops.last_insert_id(cursor, OutboxEvent._meta.db_table, "id"))


class _Batch(list[tuple[int, str]]):
    """The events one transaction recorded, dispatched together after its commit."""

    def __call__(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if getattr(connection, "tandem_outbox_batch", None) is self:
            connection.tandem_outbox_batch = None  # type: ignore[attr-defined]
        after_commit(list(self))


def _batch_for_commit() -> _Batch:
    """This transaction's batch, registering its after-commit callback on first use. A
    batch whose callback is no longer pending (its transaction committed or rolled back)
    is never reused."""
    connection = connections[DEFAULT_DB_ALIAS]
    batch = getattr(connection, "tandem_outbox_batch", None)
    if batch is None or not any(entry[1] is batch for entry in connection.run_on_commit):
        batch = _Batch()
        connection.tandem_outbox_batch = batch  # type: ignore[attr-defined]
        transaction.on_commit(batch, robust=True)
    return batch  # type: ignore[no-any-return]


def after_commit(batch: list[tuple[int, str]]) -> None:
    """Run the inline subscribers of a committed batch, then hand what is left to the
    worker (:func:`hand_to_worker`: one task, or none when one is waiting). An inline
    failure leaves its row to the worker. An event without inline subscribers
    (``ticket.opened``) costs the request no outbox query here."""
    for_worker = []
    for event_id, type_name in batch:
        subs = subscribers_of(type_name)
        if any(s.inline for s in subs):
            done = False
            try:
                done = dispatch(event_id, inline_only=True) == "dispatched"
            except Exception:  # noqa: BLE001 - the worker retries; the request never fails
                log.exception("inline subscribers of event %s failed", event_id)
            if done:
                continue
        if subs:
            for_worker.append(event_id)
    if for_worker:
        hand_to_worker()


def hand_to_worker() -> None:
    """Have the worker run the rows this process just committed: enqueue one
    :func:`dispatch_due_events_task`, unless one is already waiting that has not started.

    Why a waiting task is enough (decision 0022, "coalesced"): this runs after the rows
    committed, and the task is seen *waiting* (``READY``), so its worker's claim commits
    after this read; the worker calls the task only after that commit, and the task's
    first read (its ``upto`` bound) comes after it, so it sees these rows and
    dispatches them. It runs no later than a task enqueued now would have: the database
    backend hands out tasks of one priority without ``run_after`` oldest first, and the
    waiting one is older. A task seen running (or none) gets a new one. Two requests
    that both find none enqueue two tasks: harmless (the claim in :func:`dispatch` runs
    a row once). Were the waiting task lost anyway, the sweep takes its rows up after
    :data:`GRACE`, as for any lost task."""
    if _due_task_waiting():
        return
    dispatch_due_events_task.enqueue()


def _due_task_waiting() -> bool:
    """Whether a :func:`dispatch_due_events_task` waits in the database backend, not yet
    claimed: one plain read of the backend's ready tasks (its partial index), the text
    made once per process. False for any other backend (tests' immediate one)."""
    task_ = dispatch_due_events_task
    if not isinstance(task_.get_backend(), DatabaseBackend):
        return False
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(
            _waiting_sql(connection.vendor),
            [
                TaskResultStatus.READY.value,
                task_.module_path,
                task_.backend,
                task_.queue_name,
                connection.ops.adapt_datetimefield_value(get_date_max()),
            ],
        )
        return cursor.fetchone() is not None


@functools.cache
def _waiting_sql(vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    column = {f.name: quote(str(f.column)) for f in DBTaskResult._meta.concrete_fields}
    return (
        # Table and column names come from the backend's model, values are parameters.
        f"SELECT 1 FROM {quote(DBTaskResult._meta.db_table)} "  # noqa: S608
        f"WHERE {column['status']} = %s AND {column['task_path']} = %s "
        f"AND {column['backend_name']} = %s AND {column['queue_name']} = %s "
        f"AND {column['run_after']} = %s LIMIT 1"
    )


# --- Dispatching -------------------------------------------------------------------------------


def dispatch(
    event_id: int,
    *,
    now: dt.datetime | None = None,
    inline_only: bool = False,
    claim: bool = True,
) -> str:
    """Run the subscribers of one outbox row that have not run yet; returns ``dispatched``,
    ``failed`` (recorded, retried after :data:`BACKOFF`), ``pending`` (inline only: the
    worker's part is left), or ``skipped`` (done already, not due, or another worker's).

    The worker claims the row first (a conditional update that pushes ``next_attempt_at``
    out by :data:`LEASE`), so two workers do not run it side by side; each subscriber then
    runs in its own transaction that also marks it handled, under a row lock.
    """
    now = now or timezone.now()
    with system_context("dispatch a domain event"):
        row = OutboxEvent.objects.filter(pk=event_id, dispatched_at__isnull=True).first()
        if row is None:
            return "skipped"
        if claim and not inline_only:
            # A first attempt is due within its grace (its task comes right after the
            # commit); a claimed row (leased beyond the grace) or a retry waits its time.
            due = (
                row.next_attempt_at is None
                or row.next_attempt_at <= now
                or (row.attempts == 0 and row.next_attempt_at <= now + GRACE)
            )
            claimed = due and OutboxEvent.objects.filter(
                pk=row.pk, attempts=row.attempts, next_attempt_at=row.next_attempt_at
            ).update(next_attempt_at=now + LEASE)
            if not claimed:
                return "skipped"
        event = decode(row)
        envelope = Envelope(row.pk, row.type, row.occurred_at)
        errors = []
        handled = list(row.handled)
        for sub in subscribers_of(row.type):
            if sub.name in handled or (inline_only and not sub.inline):
                continue
            try:
                handled = _run(sub, event, envelope)
            except Exception as exc:  # noqa: BLE001 - recorded on the row and retried
                log.exception("subscriber %s of event %s failed", sub.name, row.pk)
                errors.append(f"{sub.name}: {type(exc).__name__}: {exc}")
        left = [s for s in subscribers_of(row.type) if s.name not in handled]
        if inline_only and not errors:
            if left:
                return "pending"
            OutboxEvent.objects.filter(pk=row.pk).update(dispatched_at=now, next_attempt_at=None)
            return "dispatched"
        if inline_only:
            return "failed"  # the worker takes it up: after_commit hands it over
        if errors:
            attempts = row.attempts + 1
            retry_at = now + BACKOFF[min(attempts, len(BACKOFF)) - 1]
            OutboxEvent.objects.filter(pk=row.pk).update(
                attempts=attempts, next_attempt_at=retry_at, last_error="\n".join(errors)[:2000]
            )
            if not _eager():
                transaction.on_commit(
                    functools.partial(_enqueue_retry, row.pk, retry_at), robust=True
                )
            return "failed"
        OutboxEvent.objects.filter(pk=row.pk).update(
            dispatched_at=now, next_attempt_at=None, last_error=""
        )
        return "dispatched"


def _run(sub: Subscriber, event: Event, envelope: Envelope) -> list[str]:
    """One subscriber and its mark, in one transaction: either both happen or neither."""
    with transaction.atomic():
        locked = OutboxEvent.objects.select_for_update().only("handled").get(pk=envelope.id)
        handled = list(locked.handled)
        if sub.name not in handled:
            sub.handle(event, envelope)
            handled.append(sub.name)
            OutboxEvent.objects.filter(pk=envelope.id).update(handled=handled)
    return handled


def _enqueue_retry(event_id: int, run_after: dt.datetime) -> None:
    dispatch_events_task.using(run_after=run_after).enqueue([event_id])


def redispatch_events(*, now: dt.datetime | None = None) -> int:
    """Enqueue rows not yet dispatched whose time has come: a task that was lost, a process
    that died before or during its after-commit work, a failure whose backoff has passed.
    The safety net run by the scheduler; returns how many rows it took up."""
    now = now or timezone.now()
    with system_context("find domain events not yet dispatched"):
        due = list(
            OutboxEvent.objects.filter(dispatched_at__isnull=True, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
    if due:
        dispatch_events_task.enqueue(due)
    return len(due)


def pending(
    types: Iterable[str] = (), *, failed_only: bool = False, limit: int | None = None
) -> list[OutboxEvent]:
    """Rows not yet dispatched (of ``types``, if given; only those whose last attempt failed,
    if ``failed_only``), oldest first: for ``tandem events list`` and tests."""
    with system_context("list domain events not yet dispatched"):
        rows = OutboxEvent.objects.filter(dispatched_at__isnull=True)
        if types:
            rows = rows.filter(type__in=list(types))
        if failed_only:
            rows = rows.exclude(last_error="")
        rows = rows.order_by("id")
        return list(rows[:limit] if limit is not None else rows)


def retry_now(event_ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[int, str]:
    """Run the subscribers still due of these rows now, in this process, whatever their
    backoff says (an operator fixed the fault: ``tandem events retry``); returns each row's
    outcome, ``missing`` for an id that names no row and ``skipped`` for one done already."""
    now = now or timezone.now()
    outcomes: dict[int, str] = {}
    for event_id in event_ids:
        with system_context("retry a domain event now"):
            row = OutboxEvent.objects.filter(pk=event_id).only("dispatched_at").first()
        if row is None:
            outcomes[event_id] = "missing"
        elif row.dispatched_at is not None:
            outcomes[event_id] = "skipped"
        else:
            outcomes[event_id] = dispatch(event_id, now=now, claim=False)
    return outcomes


def purge_dispatched(*, keep: dt.timedelta | None = None, now: dt.datetime | None = None) -> int:
    """Delete rows whose subscribers all ran more than ``keep`` ago (default
    ``EVENTS_KEEP_DAYS``); returns how many. Rows not yet dispatched are never deleted.

    Every change records an event, so without this the outbox grows with the desk (about five
    rows per ticket); a dispatched row is only a record of delivery, kept a while for an
    operator who asks what was told when. Deleted in batches so no lock is held for long.
    """
    now = now or timezone.now()
    keep = keep if keep is not None else dt.timedelta(days=settings.EVENTS_KEEP_DAYS)
    deleted = 0
    with system_context("purge dispatched domain events"):
        old = OutboxEvent.objects.filter(dispatched_at__lt=now - keep)
        while batch := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
            count, _ = OutboxEvent.objects.filter(pk__in=batch).delete()
            deleted += count
    return deleted


# --- Worker ------------------------------------------------------------------------------------


@task()
def dispatch_events_task(event_ids: list[int]) -> dict[str, int]:
    """Run the subscribers of some outbox rows (the sweep's, or a failure's retry; a
    committed transaction hands its rows to :func:`dispatch_due_events_task`); returns how
    many ended in each outcome."""
    outcomes: dict[str, int] = {}
    for event_id in event_ids:
        outcome = dispatch(event_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@task()
def dispatch_due_events_task() -> dict[str, int]:
    """Run the subscribers of every outbox row committed before this task started that
    awaits its first attempt (what :func:`hand_to_worker` leaves to it); returns how many
    ended in each outcome."""
    return dispatch_due()


def dispatch_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Dispatch the rows not yet dispatched and due for a first attempt (recorded, not
    claimed by another worker, not waiting out a backoff), in id order, up to the newest
    row committed when this began: rows committed later belong to a task their own
    transaction enqueues (or finds waiting), so a task under steady load still ends and
    lets the queue's other tasks run."""
    outcomes: dict[str, int] = {}
    with system_context("find domain events recorded for the worker"):
        upto = OutboxEvent.objects.aggregate(newest=Max("pk"))["newest"]
    last = 0
    while upto is not None:
        with system_context("find domain events recorded for the worker"):
            batch = list(
                OutboxEvent.objects.filter(
                    dispatched_at__isnull=True,
                    next_attempt_at__lte=(now or timezone.now()) + GRACE,
                    pk__gt=last,
                    pk__lte=upto,
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:SWEEP_BATCH]
            )
        if not batch:
            break
        for event_id in batch:
            outcome = dispatch(event_id, now=now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        last = batch[-1]
    return outcomes


@task()
def redispatch_events_task() -> int:
    """Take up outbox rows left behind (periodic: ``CoreConfig.schedule``)."""
    return redispatch_events()


@task()
def purge_dispatched_events_task() -> int:
    """Delete dispatched rows past their keeping time (daily: ``CoreConfig.schedule``)."""
    return purge_dispatched()
