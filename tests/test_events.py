"""Domain events through the outbox (decision 0022), with the real after-commit path: the
suite otherwise runs subscribers as soon as an event is recorded (``EVENTS_EAGER``)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tandem.accounts.principals import resolve_principal
from tandem.cli import main as tandem
from tandem.core import events
from tandem.core.models import OutboxEvent
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.notifications import services as notifications
from tandem.notifications.models import Notification, WebhookDelivery
from tandem.servicedesk.events import TicketAssigned
from tandem.servicedesk.models import Ticket
from tandem.servicedesk.tickets import services as desk
from tandem.tenancy.models import Engagement, Tenant
from tandem.tenancy.services import suspend_engagement
from tests.personas import user_of

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUE_TASK = "tandem.core.events.dispatch_due_events_task"


@pytest.fixture
def after_commit(settings):  # type: ignore[no-untyped-def]
    """Events dispatched as in production: after commit, inline then in the worker."""
    settings.EVENTS_EAGER = False
    return settings


def _assign(world) -> Ticket:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    with system_context("test"):
        ticket = Ticket.objects.get(pk=world["ticket"])
    with principal_scope(owner):
        desk.assign_ticket(actor=owner, ticket=ticket, assignee=user_of(world, "internal_tech"))
    return ticket


def _inbox(world) -> list[str]:  # type: ignore[no-untyped-def]
    with system_context("test"):
        return list(
            Notification.objects.filter(user_id=world["user:internal_tech"]).values_list(
                "kind", flat=True
            )
        )


def _rows(type_: str) -> list[OutboxEvent]:
    with system_context("test"):
        return list(OutboxEvent.objects.filter(type=type_).order_by("id"))


def test_an_event_is_written_with_the_change_and_told_after_commit(  # type: ignore[no-untyped-def]
    world, after_commit, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _assign(world)
    # Recorded in the transaction; nobody is told before it commits.
    [row] = _rows("ticket.assigned")
    assert row.tenant_id == world["tenant"] and row.dispatched_at is None
    assert row.payload["assignee_id"] == world["user:internal_tech"]
    assert row.payload["actor_label"] == "owner@acme.test"
    assert _inbox(world) == []
    # One callback for the transaction: the in-app notice inline, then one worker task.
    [callback] = callbacks
    callback()
    assert _inbox(world) == ["assigned"]
    with system_context("test"):
        row.refresh_from_db()
        queued = DBTaskResult.objects.filter(task_path=DUE_TASK)
        assert [r.args_kwargs["args"] for r in queued] == [[]]
    assert row.handled == ["tandem.notifications.subscribers.notices"]
    # A row another worker has claimed (leased) is left alone until the lease runs out.
    leased = timezone.now() + events.LEASE
    with system_context("test"):
        OutboxEvent.objects.filter(pk=row.pk).update(next_attempt_at=leased)
    assert events.dispatch(row.pk) == "skipped"
    # The worker runs the rest (mail and webhooks) once; again is a no-op.
    assert events.dispatch(row.pk, now=leased) == "dispatched"
    assert events.dispatch(row.pk, now=leased) == "skipped"
    with system_context("test"):
        row.refresh_from_db()
    assert row.dispatched_at is not None and row.attempts == 0
    assert sorted(row.handled) == sorted(s.name for s in events.subscribers_of("ticket.assigned"))
    assert _inbox(world) == ["assigned"]


def test_a_rolled_back_change_records_nothing(world, after_commit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), transaction.atomic():
        _assign(world)
        raise RuntimeError("the change fails after the event")
    assert _rows("ticket.assigned") == []
    assert _inbox(world) == []


def _failing_subscriber(monkeypatch, calls: list[int]) -> None:  # type: ignore[no-untyped-def]
    """A subscriber of ``ticket.assigned`` that fails until ``calls`` holds the word."""

    def handle(event: Any, envelope: events.Envelope) -> None:
        calls.append(envelope.id)
        if len(calls) == 1:
            raise ConnectionError("the other side is down")

    monkeypatch.setitem(
        events._SUBSCRIBERS,
        "test.flaky",
        events.Subscriber("test.flaky", frozenset({TicketAssigned.type}), handle),
    )
    events.subscribers_of.cache_clear()


def test_a_failing_subscriber_is_recorded_retried_with_backoff_and_runs_once(  # type: ignore[no-untyped-def]
    world, after_commit, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    calls: list[int] = []
    _failing_subscriber(monkeypatch, calls)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _assign(world)
        [row] = _rows("ticket.assigned")
        now = timezone.now()
        with django_capture_on_commit_callbacks(execute=False) as retries:
            assert events.dispatch(row.pk, now=now) == "failed"
        with system_context("test"):
            row.refresh_from_db()
        assert row.attempts == 1 and row.dispatched_at is None
        assert row.last_error == "test.flaky: ConnectionError: the other side is down"
        assert row.next_attempt_at == now + dt.timedelta(minutes=1)
        assert (
            "test.flaky" not in row.handled
            and len(row.handled) == len(events.subscribers_of(TicketAssigned.type)) - 1
        )
        # The retry is enqueued to run after the backoff (beside the mail's sending).
        assert [c.func.__name__ for c in retries].count("_enqueue_retry") == 1
        # Not due before its time; then only the failed subscriber runs again.
        assert events.dispatch(row.pk, now=now + dt.timedelta(seconds=30)) == "skipped"
        assert events.dispatch(row.pk, now=now + dt.timedelta(minutes=1)) == "dispatched"
        assert calls == [row.pk, row.pk]
        assert _inbox(world) == ["assigned"]
    finally:
        events.subscribers_of.cache_clear()


def test_the_sweep_takes_up_events_whose_task_was_lost(world, after_commit) -> None:  # type: ignore[no-untyped-def]
    _assign(world)  # committed, as far as the outbox knows, but its callback never ran
    [row] = _rows("ticket.assigned")
    assert events.redispatch_events(now=timezone.now()) == 0  # still within its grace
    later = timezone.now() + events.GRACE
    assert events.redispatch_events(now=later) == 1
    with system_context("test"):
        [queued] = DBTaskResult.objects.filter(task_path="tandem.core.events.dispatch_events_task")
    assert queued.args_kwargs["args"] == [[row.pk]]
    assert events.dispatch(row.pk, now=later) == "dispatched"
    assert events.redispatch_events(now=later) == 0
    assert _inbox(world) == ["assigned"]


def test_every_event_type_reaches_the_webhooks() -> None:
    for name in events.event_types():
        assert "tandem.notifications.subscribers.event_webhooks" in {
            s.name for s in events.subscribers_of(name)
        }
    with pytest.raises(ValueError, match="not a registered event type"):
        events.record(events.Event(tenant_id=None))


def test_webhooks_subscribe_to_any_event_type(world, settings) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    with system_context("test"):
        acme = Tenant.objects.get(pk=world["tenant"])
        engagement = Engagement.objects.get(pk=world["engagement"])
    with principal_scope(owner):
        hook, _secret = notifications.create_webhook(
            actor=owner,
            tenant=acme,
            url="https://hooks.acme.test/engagements",
            events=["engagement.suspended", "ticket.opened"],
        )
    suspend_engagement(
        actor=system_principal("test"), engagement=engagement, reason="Invoice unpaid"
    )
    with system_context("test"):
        [delivery] = WebhookDelivery.objects.filter(webhook=hook)
    assert delivery.event == "engagement.suspended"
    assert delivery.payload["event"] == "engagement.suspended"
    assert delivery.payload["tenant_id"] == world["tenant"]
    assert delivery.payload["data"] == {
        "engagement_id": engagement.pk,
        "provider_id": engagement.provider_id,
        "status": "suspended",
        "reason": "Invoice unpaid",
        "actor_user_id": None,
        "actor_label": system_principal("test").label,
    }
    with pytest.raises(Exception, match="Unknown events"), principal_scope(owner):
        notifications.create_webhook(
            actor=owner, tenant=acme, url="https://hooks.acme.test/x", events=["ticket.eaten"]
        )


def test_the_catalogue_names_every_event_type() -> None:
    assert sorted(events.event_types()) == [
        "alert.raised",
        "alert.resolved",
        "alert.updated",
        "coverage.changed",
        "device.came_back",
        "device.enrolled",
        "device.pending_updates_changed",
        "device.reboot_pending_changed",
        "device.retired",
        "device.updated",
        "device.went_offline",
        "engagement.accepted",
        "engagement.ended",
        "engagement.resumed",
        "engagement.suspended",
        "job.approved",
        "job.awaiting_approval",
        "job.cancelled",
        "job.expired",
        "job.failed",
        "job.rejected",
        "job.requested",
        "job.running",
        "job.scheduled",
        "job.succeeded",
        "matrix.changed",
        "patching.updates_decided",
        "sla.breached",
        "sla.warning",
        "ticket.assigned",
        "ticket.handed_off",
        "ticket.note_added",
        "ticket.opened",
        "ticket.reopened",
        "ticket.resolved",
    ]


def test_opening_a_ticket_costs_one_insert_and_one_task(  # type: ignore[no-untyped-def]
    world, after_commit, django_capture_on_commit_callbacks
) -> None:
    tech = user_of(world, "internal_tech")
    principal = resolve_principal(tech)
    with system_context("test"):
        acme = Tenant.objects.get(pk=world["tenant"])
    with (
        principal_scope(principal),
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        desk.create_ticket(actor=principal, tenant=acme, requester=tech, subject="Printer")
    outbox = [q["sql"] for q in queries.captured_queries if "core_outboxevent" in q["sql"]]
    tasks = [q["sql"] for q in queries.captured_queries if "dbtaskresult" in q["sql"]]
    # The acknowledgement e-mail is the worker's now: nothing else on the request's path.
    assert len(outbox) == 1 and outbox[0].startswith("INSERT")
    # No task waiting yet: one looked for, one enqueued.
    assert [t.split()[0] for t in tasks] == ["SELECT", "INSERT"]
    assert not any("outboundmessage" in q["sql"] for q in queries.captured_queries)
    # The next ticket finds that task still waiting: only the look.
    with (
        principal_scope(principal),
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        desk.create_ticket(actor=principal, tenant=acme, requester=tech, subject="Paper")
    tasks = [q["sql"] for q in queries.captured_queries if "dbtaskresult" in q["sql"]]
    assert [t.split()[0] for t in tasks] == ["SELECT"]


def test_an_operator_lists_failed_events_and_retries_them_now(  # type: ignore[no-untyped-def]
    world, after_commit, monkeypatch, capsys
) -> None:
    calls: list[int] = []
    _failing_subscriber(monkeypatch, calls)
    try:
        _assign(world)
        [row] = _rows("ticket.assigned")
        assert events.dispatch(row.pk) == "failed"
        assert tandem(["events", "list", "--failed"]) == 0
        listed = capsys.readouterr().out
        assert f"{row.pk}  ticket.assigned" in listed
        assert "test.flaky: ConnectionError: the other side is down" in listed
        # The backoff says wait a minute; the operator fixed the fault and says now.
        assert tandem(["events", "retry", "--all-failed"]) == 0
        assert capsys.readouterr().out.split() == [str(row.pk), "dispatched"]
        assert calls == [row.pk, row.pk]
        assert events.pending() == []
        # Done already, or no such row: said, and the second is a failure.
        assert tandem(["events", "retry", str(row.pk), "999999"]) == 1
        assert capsys.readouterr().out.split() == [str(row.pk), "skipped", "999999", "missing"]
        assert tandem(["events", "list"]) == 0
        assert "No domain event is waiting." in capsys.readouterr().err
    finally:
        events.subscribers_of.cache_clear()


@pytest.mark.parametrize(
    "argv",
    [
        ["events", "retry"],
        ["events", "retry", "1", "--all-failed"],
        ["events", "retry", "0"],
        ["events", "purge", "--older-than", "-3"],
        ["events", "list", "--limit", "none"],
    ],
    ids=" ".join,
)
def test_bad_event_commands_are_refused(argv, capsys) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        before = OutboxEvent.objects.count()
    try:
        code = tandem(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code in (1, 2)
    assert capsys.readouterr().err.strip()
    with system_context("test"):
        assert OutboxEvent.objects.count() == before


def test_dispatched_events_are_purged_after_their_keeping_time_and_waiting_ones_never(  # type: ignore[no-untyped-def]
    world, after_commit, settings, capsys
) -> None:
    settings.EVENTS_KEEP_DAYS = 7
    _assign(world)
    _assign(world)
    done, waiting = _rows("ticket.assigned")
    now = timezone.now()
    assert events.dispatch(done.pk, now=now - dt.timedelta(days=8), claim=False) == "dispatched"
    with system_context("test"):
        OutboxEvent.objects.filter(pk=waiting.pk).update(occurred_at=now - dt.timedelta(days=30))
    # A week and a day after its dispatch it goes; the one still waiting stays, however old.
    assert events.purge_dispatched(now=now - dt.timedelta(days=2)) == 0
    assert events.purge_dispatched(now=now) == 1
    assert [r.pk for r in _rows("ticket.assigned")] == [waiting.pk]
    # The command takes another keeping time.
    assert events.dispatch(waiting.pk, now=now - dt.timedelta(days=3), claim=False) == "dispatched"
    assert tandem(["events", "purge", "--older-than", "5"]) == 0
    assert "Deleted 0 dispatched" in capsys.readouterr().out
    assert tandem(["events", "purge", "--older-than", "2"]) == 0
    assert "Deleted 1 dispatched" in capsys.readouterr().out
    assert _rows("ticket.assigned") == []


def _columns(row_id: int) -> dict[str, Any]:
    """An outbox row as read back from the database, without its id."""
    with system_context("test"):
        values = OutboxEvent.objects.filter(pk=row_id).values().get()
    values.pop("id")
    return values


@pytest.mark.parametrize("subscribed", [True, False])
def test_the_plain_insert_writes_the_row_the_orm_wrote(  # type: ignore[no-untyped-def]
    world, after_commit, monkeypatch, subscribed, django_capture_on_commit_callbacks
) -> None:
    """``record``'s one plain ``INSERT`` against the ORM's ``create`` it replaced: the same
    payload JSON, times, dispatch rules and defaults, read back equal (decision 0049)."""
    event = TicketAssigned(
        tenant_id=world["tenant"],
        ticket_id=world["ticket"],
        assignee_id=None,
        actor_user_id=7,
        actor_label='Zoë "quoted" <b>',
    )
    if not subscribed:
        monkeypatch.setattr(events, "subscribers_of", lambda _type: ())
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        recorded = events.record(event, now=now)
        with system_context("test"):
            by_orm = OutboxEvent.objects.create(
                type=event.type,
                tenant_id=event.tenant_id,
                payload=event.payload(),
                occurred_at=now,
                dispatched_at=None if subscribed else now,
                next_attempt_at=now + events.GRACE if subscribed else None,
            )
    assert recorded != by_orm.pk
    assert _columns(recorded) == _columns(by_orm.pk)
    row = _columns(recorded)
    assert row["payload"]["actor_label"] == 'Zoë "quoted" <b>'
    assert row["occurred_at"] == now and row["handled"] == [] and row["attempts"] == 0
    assert (row["dispatched_at"], row["next_attempt_at"]) == (
        (None, now + events.GRACE) if subscribed else (now, None)
    )


def test_recorded_events_are_dispatched_after_commit_and_never_on_rollback(  # type: ignore[no-untyped-def]
    world, after_commit, django_capture_on_commit_callbacks
) -> None:
    """Through the plain ``INSERT``: one worker task for the transaction's events, run
    after it commits; a rolled-back transaction leaves neither rows nor a task."""
    with system_context("test"):
        DBTaskResult.objects.all().delete()
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _assign(world)
        raise RuntimeError("rolled back")
    assert callbacks == [] and _rows("ticket.assigned") == []
    with django_capture_on_commit_callbacks(execute=True):
        _assign(world)
        _assign(world)
        with system_context("test"):
            # Nothing is handed to the worker before the commit.
            assert not DBTaskResult.objects.exists()
    rows = _rows("ticket.assigned")
    assert len(rows) == 2
    with system_context("test"):
        assert DBTaskResult.objects.filter(task_path=DUE_TASK).count() == 1
    assert _inbox(world) == ["assigned", "assigned"]  # each event's notice, inline
    # The worker's task takes up both rows (their mail and webhooks).
    assert events.dispatch_due() == {"dispatched": 2}
    assert events.pending() == []


def _due_tasks(status: str | None = None) -> int:
    with system_context("test"):
        tasks = DBTaskResult.objects.filter(task_path=DUE_TASK)
        return (tasks.filter(status=status) if status else tasks).count()


def test_a_commit_finding_the_task_already_running_enqueues_another(world, after_commit) -> None:  # type: ignore[no-untyped-def]
    """A task seen running may have read its rows before these committed: it is not
    relied on, a new one is enqueued; one still waiting is (coalesced)."""
    _assign(world)  # committed in the test's eyes; its callback below, as after a commit
    events.hand_to_worker()
    assert _due_tasks("READY") == 1
    events.hand_to_worker()  # another transaction while it waits: coalesced
    assert _due_tasks() == 1
    with system_context("test"):
        DBTaskResult.objects.ready().filter(task_path=DUE_TASK).get_locked().claim("worker-1")  # type: ignore[union-attr]
    events.hand_to_worker()
    assert (_due_tasks("RUNNING"), _due_tasks("READY")) == (1, 1)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: on SQLite a worker's claim (BEGIN EXCLUSIVE) and a commit "
    "never overlap",
)
@pytest.mark.django_db(transaction=True)
def test_a_commit_that_sees_the_task_waiting_while_it_is_being_claimed_is_dispatched(  # type: ignore[no-untyped-def]
    world, after_commit
) -> None:
    """The race coalescing must win (decision 0022): a worker is claiming the waiting
    task (its claim not yet committed) when a transaction commits its event and, seeing
    the task still waiting, enqueues none. The task, run after its claim commits, must
    dispatch that event."""
    events.hand_to_worker()
    assert _due_tasks("READY") == 1
    claimed, go = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            with system_context("test: the worker"):
                with transaction.atomic():
                    found = DBTaskResult.objects.ready().filter(task_path=DUE_TASK).get_locked()
                    assert found is not None
                    found.claim("worker-1")
                    claimed.set()
                    assert go.wait(timeout=30)
                # As db_worker: the task is called once the claim committed.
                outcome["ran"] = found.task.call()
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    assert claimed.wait(timeout=30)
    _assign(world)  # commits; its after-commit work sees the task still waiting
    assert _due_tasks() == 1
    go.set()
    thread.join(timeout=30)
    assert outcome["ran"] == {"dispatched": 1}
    [row] = _rows("ticket.assigned")
    assert row.dispatched_at is not None
    assert events.pending() == []
