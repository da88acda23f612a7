"""The scale run (decision 0011): desks configured through the services, tickets generated
by worker processes while this process writes them, one transaction per tenant's tickets.

On PostgreSQL, when the run owns its transactions, a thread configures desks on a second
connection ahead of the writer; otherwise configuring and writing take turns in a pipeline
one tenant deep (the workers generate meanwhile)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from tandem.core.errors import Conflict
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.demo import DEMO_PASSWORD
from tandem.scale import plan as planning
from tandem.scale import setup
from tandem.scale.options import BATCH_SIZE, ScaleOptions, ScaleSummary, validate
from tandem.scale.tickets import Job, creation_times, run_job
from tandem.scale.writer import Writer, unknown_columns
from tandem.tenancy.models import Provider, Tenant

if TYPE_CHECKING:
    from tandem.scale.plan import TenantPlan
    from tandem.scale.setup import ProviderStaff
    from tandem.scale.writer import Writer
    from tandem.tenancy.models import Tenant


def scale_present() -> bool:
    """True when any tenant or provider of a scale run exists."""

    with system_context("check for scale demo data"):
        return (
            Tenant.objects.filter(slug__startswith="scale-").exists()
            or Provider.objects.filter(slug__startswith="scale-msp-").exists()
        )


class _Inline(Executor):
    """Runs a job when its result is asked for (``processes=0``: tests, tiny runs)."""

    def submit(  # type: ignore[override]
        self, fn: Callable[..., object], /, *args: object, **kwargs: object
    ) -> Future[object]:
        future: Future[object] = Future()
        future.set_result(_Deferred(fn, args, kwargs))
        return future


@dataclass
class _Deferred:
    fn: Callable[..., object]
    args: tuple[object, ...]
    kwargs: dict[str, object]

    def __call__(self) -> object:
        return self.fn(*self.args, **self.kwargs)


@dataclass
class _Pending:
    """A configured tenant whose tickets are being generated."""

    tenant: Tenant
    people: int
    first_number: int
    tickets: int
    futures: list[Future[Any]]


def generate(
    options: ScaleOptions,
    *,
    progress: Callable[[str], None] = print,
    processes: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> ScaleSummary:
    """Check, plan, configure, generate and write; see :func:`tandem.scale.generate`."""

    validate(options)
    missing = unknown_columns()
    if missing:
        raise Conflict(
            "the scale generator does not fill these columns yet: "
            + ", ".join(missing)
            + " (update tandem/scale/writer.py and tickets.py)"
        )
    if scale_present():
        raise Conflict(
            "scale data is already present (tenants scale-0001...); "
            "generate it into an empty database instead"
        )
    started = time.monotonic()
    now = int(time.time())
    as_of = dt.datetime.fromtimestamp(now, dt.UTC)
    plan = planning.make_plan(
        tenants=options.tenants,
        providers=options.providers,
        tickets=options.tickets,
        seed=options.seed,
    )
    summary = ScaleSummary(as_of=as_of.isoformat())
    actor = system_principal("tandem demo --scale")
    writer = Writer()
    writer.prepare()
    # One argon2 hash for every generated person: hashing per user would take minutes.
    password_hash = make_password(DEMO_PASSWORD)
    people_rng = random.Random(f"{options.seed}:people")
    workers = (os.cpu_count() or 1) if processes is None else processes

    def elapsed() -> str:
        seconds = int(time.monotonic() - started)
        return f"{seconds // 60}m{seconds % 60:02d}s"

    progress(
        f"Generating {len(plan.tenants)} tenants, {len(plan.providers)} providers and "
        f"{plan.tickets:,} tickets (seed {options.seed}, {writer.vendor}, "
        f"{workers or 'no'} worker process{'es' if workers != 1 else ''})."
    )
    executor: Executor = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        if workers
        else _Inline()
    )
    state = {"done": 0, "reported": time.monotonic()}
    phases = dict.fromkeys(("configure", "wait", "write"), 0.0)

    def write(item: _Pending) -> None:
        """Write one tenant's tickets, its desk counter and its audit entry; one transaction."""
        tally = dict.fromkeys(("events", "comments", "time_entries", "handoffs", "open"), 0)
        before = dict(writer.rows)
        with transaction.atomic():
            writer.begin_tenant()
            for future in item.futures:
                mark = time.monotonic()
                output = future.result()
                if isinstance(output, _Deferred):
                    output = output()
                phases["wait"] += time.monotonic() - mark
                mark = time.monotonic()
                writer.write(output)  # type: ignore[arg-type]
                phases["write"] += time.monotonic() - mark
                for key, value in output.tally.items():  # type: ignore[attr-defined]
                    tally[key] += value
            setup.finish_tenant(
                actor,
                item.tenant,
                first_number=item.first_number,
                tickets=item.tickets,
                changes={
                    "generator": "tandem demo --scale",
                    "seed": options.seed,
                    "as_of": as_of,
                    "people": item.people,
                    "tickets": item.tickets,
                    "open_tickets": tally["open"],
                    "events": tally["events"],
                    "comments": tally["comments"],
                    "time_entries": tally["time_entries"],
                    "handoffs": tally["handoffs"],
                    "watchers": writer.rows["watchers"] - before["watchers"],
                },
            )
        summary.tenants += 1
        summary.people += item.people
        summary.open_tickets += tally["open"]
        state["done"] += item.tickets
        last = summary.tenants == len(plan.tenants)
        if last or time.monotonic() - state["reported"] > 10:
            state["reported"] = time.monotonic()
            share = state["done"] / plan.tickets if plan.tickets else 1.0
            progress(
                f"  tenants {summary.tenants:>4}/{len(plan.tenants)}  tickets "
                f"{state['done']:>9,}/{plan.tickets:,} ({share:4.0%})  {elapsed()}"
            )

    def configure(t: planning.TenantPlan, staff: dict[int, setup.ProviderStaff]) -> _Pending:
        """Set up one tenant's desk and people, and hand its tickets to the workers."""
        mark = time.monotonic()
        # The desk first, committed on its own: the services' follow-up tasks (SLA
        # recomputes) run at its commit and find no tickets yet.
        with transaction.atomic():
            tenant, people = setup.configure_tenant(
                actor, t, plan, staff, password_hash, people_rng, as_of.date()
            )
        desk = setup.load_desk(tenant, t.index, people, staff)
        first_number = setup.next_number(tenant)
        created = creation_times(
            t.tickets, now, desk.time_zone, random.Random(f"{options.seed}:{t.index}")
        )
        first_id = writer.reserve_ticket_ids(t.tickets) if t.tickets else 0
        futures = [
            executor.submit(
                run_job,
                Job(
                    desk=desk,
                    vendor=writer.vendor,
                    now=now,
                    seed=f"{options.seed}:{t.index}:{offset}",
                    first_id=first_id + offset,
                    first_number=first_number + offset,
                    created=created[offset : offset + batch_size],
                ),
            )
            for offset in range(0, t.tickets, batch_size)
        ]
        phases["configure"] += time.monotonic() - mark
        return _Pending(tenant, people.count, first_number, t.tickets, futures)

    # PostgreSQL, when the run owns its transactions (not inside a test's): desks are
    # configured on a second connection, in a thread, while this one writes tickets. On
    # SQLite the two would only queue for the one write lock.
    threaded = bool(workers) and writer.vendor == "postgresql" and not connection.in_atomic_block
    try:
        with system_context("tandem demo --scale"), setup.tasks_run_at_once():
            staff = setup.create_providers(actor, plan, password_hash, people_rng)
            summary.providers = len(staff)
            summary.people += sum(len(s.people) for s in staff.values())
            progress(f"  providers: {len(staff)} with {summary.people:,} staff ({elapsed()})")
            if threaded:
                for item in _configured_in_thread(plan.tenants, configure, staff, writer):
                    write(item)
            else:
                pending: deque[_Pending] = deque()
                for t in plan.tenants:
                    pending.append(configure(t, staff))
                    # The workers generate this tenant's tickets while the previous tenant's
                    # are written, and while the next tenant is configured.
                    while len(pending) > 1:
                        write(pending.popleft())
                while pending:
                    write(pending.popleft())
            with transaction.atomic():
                setup.audit_provider_staff(actor, staff)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    writer.finish()
    summary.rows = dict(writer.rows)
    summary.phases = {name: round(value, 1) for name, value in phases.items()}
    summary.seconds = time.monotonic() - started
    return summary


def _configured_in_thread(
    tenants: Sequence[TenantPlan],
    configure: Callable[[TenantPlan, dict[int, ProviderStaff]], _Pending],
    staff: dict[int, ProviderStaff],
    writer: Writer,
) -> Iterator[_Pending]:
    """Configure tenants in a thread (its own database connection), yielding them in order;
    at most two ahead of the caller."""

    ready: queue.Queue[_Pending | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: _Pending | BaseException | None) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            writer.prepare()  # this thread's connection
            with system_context("tandem demo --scale: configure desks"):
                for t in tenants:
                    if stop.is_set():
                        return
                    offer(configure(t, staff))
            offer(None)
        except BaseException as exc:  # handed to the caller, which raises it
            offer(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=produce, name="scale-configure", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
