"""``tandem bench desk``: service-desk throughput and latency on the configured database.

Creates a scratch tenant (``bench-<time>``) with a desk, then measures:

- ticket creation with routing, SLA clocks and audit, through the service (per second);
- the 50-row queue page of the API for the tenant's internal technician and for a provider
  technician's cross-tenant queue (p50/p95 server time and query count);
- SLA recomputation: the pure clock over synthetic histories (tickets per second) and the
  ORM round trip that loads a ticket's history and stores its clock.

With ``--scale`` the queues are those of the ``tandem demo --scale`` data, measured before
this run opens its tickets. Every run leaves its scratch tickets behind, the newest in the
database and outside the scale provider's tenants: after many runs a provider's
newest-first queue walks past all of them first, so regenerate the scale data for clean
figures.

Run it against a scratch database: it writes.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tandem.accounts.models import Role, User
from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import add_membership, create_user
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.responsibility import services as matrix_services
from tandem.servicedesk.config import sla_services as config_sla
from tandem.servicedesk.sla_bridge import recompute_open_tickets, recompute_sla
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.sla import bench as sla_bench
from tandem.tenancy.models import Engagement, Party, ServiceArea, Tenant
from tandem.tenancy.services import (
    accept_engagement,
    create_provider,
    create_tenant,
    grant_engagement,
)

CREATE = "ticket create (routing + SLA + audit)"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _set_up(stamp: str) -> dict[str, Any]:
    actor = system_principal("bench set-up")
    with system_context("bench set-up"):
        tenant = create_tenant(
            actor=actor, name=f"Bench {stamp}", slug=f"bench-{stamp}", time_zone="Europe/Berlin"
        )
        provider = create_provider(actor=actor, name=f"Bench MSP {stamp}", slug=f"bmsp-{stamp}")
        areas = dict(ServiceArea.objects.filter(tenant=tenant).values_list("key", "pk"))
        engagement = grant_engagement(
            actor=actor,
            tenant=tenant,
            provider=provider,
            name="Bench cover",
            service_area_ids=[areas["server-patching"], areas["tier1-desk"]],
            allowed_actions=["tickets.work"],
        )
        accept_engagement(actor=actor, engagement=engagement)
        internal = Party.objects.get(tenant=tenant, kind="internal")
        msp = Party.objects.get(engagement=engagement)
        office = config_sla.create_calendar(
            actor=actor,
            tenant=tenant,
            name="Office",
            time_zone="Europe/Berlin",
            weekly={str(d): [["08:00", "17:00"]] for d in range(5)},
            holiday_country="DE",
        )
        around = config_sla.create_calendar(
            actor=actor,
            tenant=tenant,
            name="24/7",
            time_zone="Europe/Berlin",
            weekly={str(d): [["00:00", "24:00"]] for d in range(7)},
        )
        for key in ("server-patching", "tier1-desk"):
            matrix_services.add_matrix_row(
                actor=actor,
                tenant=tenant,
                service_area_id=areas[key],
                responsible_id=internal.pk,
                accountable_id=internal.pk,
                consulted_ids=[msp.pk],
            )
        matrix_services.add_coverage(
            actor=actor, tenant=tenant, party=internal, calendar_id=office.pk
        )
        matrix_services.add_coverage(
            actor=actor, tenant=tenant, party=msp, calendar_id=around.pk, max_priority=2
        )
        targets = {str(p): {"first_response": 30 * p, "resolution": 240 * p} for p in range(1, 6)}
        config_sla.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="OLA",
            party=internal,
            calendar_id=office.pk,
            targets=targets,
        )
        config_sla.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="SLA",
            party=msp,
            calendar_id=around.pk,
            targets=targets,
        )
        tech = create_user(actor=actor, email=f"tech-{stamp}@bench.test", full_name="Bench Tech")
        msp_tech = create_user(actor=actor, email=f"msp-{stamp}@bench.test", full_name="MSP Tech")
        add_membership(
            actor=actor, user=tech, role=Role.objects.get(key="internal-technician"), tenant=tenant
        )
        add_membership(
            actor=actor,
            user=msp_tech,
            role=Role.objects.get(key="provider-technician"),
            provider=provider,
        )
    return {"tenant": tenant, "tech": tech, "msp_tech": msp_tech, "areas": areas}


def _timed(func: Callable[[], Any]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _create_tickets(
    tenant_id: int, user_id: int, area_id: int, count: int, seed: int, ready: Callable[[], Any]
) -> float:
    """Open ``count`` tickets through the service as the tenant's technician; seconds taken."""

    with system_context("bench: load the technician"):
        user = User.objects.get(pk=user_id)
        tenant = Tenant.objects.get(pk=tenant_id)
    principal = resolve_principal(user)
    rng = random.Random(seed)
    ready()
    start = time.perf_counter()
    with principal_scope(principal):
        for index in range(count):
            ticket_services.create_ticket(
                actor=principal,
                tenant=tenant,
                requester=user,
                subject=f"Bench ticket {index}",
                service_area_id=area_id,
                impact=rng.randint(1, 3),
                urgency=rng.randint(1, 3),
            )
    return time.perf_counter() - start


def _create_worker(args: tuple[int, int, int, int, int], barrier: Any, results: Any) -> None:
    connections.close_all()  # a forked child must open its own connection
    try:
        tenant_id, user_id, area_id, count, seed = args
        results.put(_create_tickets(tenant_id, user_id, area_id, count, seed, barrier.wait))
    except BaseException as exc:  # report, never hang the parent
        results.put(exc)
        raise


def _create_figure(worlds: list[dict[str, Any]], tickets: int) -> Figure:
    """Ticket creation with routing, SLA and audit; one process per world (its own tenant,
    as an MSP's clients open tickets side by side), all starting together."""

    share = tickets // len(worlds)
    jobs = [
        (w["tenant"].pk, w["tech"].pk, w["areas"]["server-patching"], share, 7 + i)
        for i, w in enumerate(worlds)
    ]
    if len(jobs) == 1:
        elapsed = _create_tickets(*jobs[0], ready=lambda: None)
    else:
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(len(jobs)), context.Queue()
        connections.close_all()
        children = [
            context.Process(target=_create_worker, args=(job, barrier, results)) for job in jobs
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=3600) for _ in children]
        for child in children:
            child.join()
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise RuntimeError(f"a bench process failed: {failures[0]!r}")
        elapsed = max(outcomes)
    total = share * len(jobs)
    return Figure(
        CREATE,
        total / elapsed,
        "tickets/s",
        {"tickets": total, "processes": len(jobs), "seconds": round(elapsed, 2)},
    )


def _scale_people() -> dict[str, Any] | None:
    """The busiest tenant's technician and the most engaged provider's technician of the
    ``tandem demo --scale`` data, or None when that data is absent."""

    with system_context("bench: find the scale data"):
        tenants = Tenant.objects.filter(slug__startswith="scale-").exclude(
            slug__startswith="scale-msp-"
        )
        if not tenants.exists():
            return None
        busiest = (
            tenants.annotate(n=Count("ticket"))
            .order_by("-n")
            .values_list("slug", "n", "pk")
            .first()
        )
        provider = (
            Engagement.objects.filter(provider__slug__startswith="scale-msp-", status="active")
            .values("provider__slug")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        if busiest is None or provider is None:
            return None
        slug, count, tenant_id = busiest
        return {
            "tenant_id": tenant_id,
            "tenant_tickets": count,
            "tech": User.objects.get(email=f"it1@{slug}.scale.test"),
            "msp_tech": User.objects.get(email=f"tech1@{provider['provider__slug']}.scale.test"),
            "engagements": provider["n"],
        }


def run(
    *,
    tickets: int = 2000,
    queue_requests: int = 200,
    recompute: int = 20000,
    processes: int = 2,
    scale: bool = False,
) -> list[Figure]:
    """Run the scenarios and return the figures.

    ``processes``: how many processes open tickets (each in its own scratch tenant) and
    recompute SLA clocks side by side. ``scale``: measure the queues on the data of
    ``tandem demo --scale`` (the busiest tenant, the most engaged provider) instead of the
    scratch tenant.
    """

    people = _scale_people() if scale else None
    if scale and people is None:
        raise LookupError("no scale data here: run `tandem demo --scale` first")
    stamp = time.strftime("%Y%m%d%H%M%S")
    worlds = [_set_up(f"{stamp}{index}") for index in range(max(1, processes))]
    figures: list[Figure] = []
    if people is None:
        # The scratch tenant's queue is measured on the tickets this run opens.
        figures.append(_create_figure(worlds, tickets))

    # Queue pages through the API and the cross-tenant page (server time as the test client
    # sees it, no network).
    def queue(user: Any, url: str, label: str, detail: dict[str, Any]) -> None:
        client = Client()
        client.force_login(user)
        client.get(url)  # warm caches and the session
        timings, queries = [], []
        for _ in range(queue_requests):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.content[:200]
            queries.append(len(captured))
        figures.append(
            Figure(
                f"{label} p50",
                statistics.median(timings),
                "ms",
                {"queries": max(queries), "requests": queue_requests, **detail},
            )
        )
        figures.append(
            Figure(f"{label} p95", _percentile(timings, 95), "ms", {"queries": max(queries)})
        )

    if people is None:
        people = {
            "tenant_id": worlds[0]["tenant"].pk,
            "tech": worlds[0]["tech"],
            "msp_tech": worlds[0]["msp_tech"],
        }
    with system_context("bench: data size"):
        size = {"tickets_in_database": Ticket.objects.count()}
    tenant_detail = {**size, "tenant_tickets": people.get("tenant_tickets")}
    provider_detail = {**size, "engagements": people.get("engagements")}
    queue(
        people["tech"],
        f"/api/v1/tickets?tenant_id={people['tenant_id']}&limit=50",
        "tenant queue, API (50 rows)",
        tenant_detail,
    )
    queue(
        people["tech"],
        f"/tenants/{people['tenant_id']}/tickets/",
        "tenant queue, page",
        tenant_detail,
    )
    queue(
        people["msp_tech"],
        "/api/v1/tickets?limit=50",
        "provider cross-tenant queue, API (50 rows)",
        provider_detail,
    )
    queue(people["msp_tech"], "/queue/", "provider cross-tenant queue, page", provider_detail)
    if not figures or figures[0].name != CREATE:
        # On the scale data the queues are measured first: the tickets opened here are the
        # newest in the database and in tenants the scale provider does not serve, so a
        # provider's newest-first queue would first walk past every one of them.
        figures.insert(0, _create_figure(worlds, tickets))

    # SLA recomputation: the pure clock, then the ORM round trip.
    rate = sla_bench.bench(recompute, processes=max(1, processes))
    figures.append(
        Figure(
            "SLA recompute, pure clock",
            rate,
            "tickets/s",
            {"tickets": recompute, "processes": max(1, processes)},
        )
    )
    with system_context("bench: SLA recompute"):
        sample = list(
            Ticket.objects.filter(tenant=worlds[0]["tenant"]).select_related("tenant")[:500]
        )
        now = dt.datetime.now(dt.UTC)
        elapsed = _timed(lambda: [recompute_sla(t, now=now) for t in sample])
        figures.append(
            Figure(
                "SLA recompute, one ticket at a time (load + store)",
                len(sample) / elapsed,
                "tickets/s",
                {"tickets": len(sample), "processes": 1},
            )
        )
        done: list[int] = []
        tenant_id = worlds[0]["tenant"].pk
        elapsed = _timed(lambda: done.append(recompute_open_tickets(tenant_id, now=now)))
        figures.append(
            Figure(
                "SLA recompute, a tenant's open tickets (worker, load + store)",
                done[0] / elapsed,
                "tickets/s",
                {"tickets": done[0], "processes": 1},
            )
        )
    return figures


def report(figures: list[Figure], *, as_json: bool) -> str:
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    if as_json:
        return json.dumps({"database": database, "figures": [asdict(f) for f in figures]}, indent=2)
    lines = [f"tandem bench desk on {database}"]
    for fig in figures:
        extra = ", ".join(f"{k}={v}" for k, v in fig.detail.items())
        lines.append(f"  {fig.name:<48} {fig.value:>12,.1f} {fig.unit:<10} {extra}")
    return "\n".join(lines)
