"""``tandem bench desk``: service-desk throughput and latency on the configured database.

Creates a scratch tenant (``bench-<time>``) with a desk, then measures:

- ticket creation with routing, SLA clocks and audit, through the service (per second);
- the 50-row queue page of the API for the tenant's internal technician and for a provider
  technician's cross-tenant queue (p50/p95 server time and query count);
- SLA recomputation: the pure clock over synthetic histories (tickets per second) and the
  ORM round trip that loads a ticket's history and stores its clock.

Run it against a scratch database: it writes.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


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
    from tandem.accounts.models import Role
    from tandem.accounts.services import add_membership, create_user
    from tandem.core.principal import system_principal
    from tandem.core.scoping import system_context
    from tandem.servicedesk import services as desk
    from tandem.tenancy.models import Party, ServiceArea
    from tandem.tenancy.services import (
        accept_engagement,
        create_provider,
        create_tenant,
        grant_engagement,
    )

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
        office = desk.create_calendar(
            actor=actor,
            tenant=tenant,
            name="Office",
            time_zone="Europe/Berlin",
            weekly={str(d): [["08:00", "17:00"]] for d in range(5)},
            holiday_country="DE",
        )
        around = desk.create_calendar(
            actor=actor,
            tenant=tenant,
            name="24/7",
            time_zone="Europe/Berlin",
            weekly={str(d): [["00:00", "24:00"]] for d in range(7)},
        )
        for key in ("server-patching", "tier1-desk"):
            desk.add_matrix_row(
                actor=actor,
                tenant=tenant,
                service_area_id=areas[key],
                responsible_id=internal.pk,
                accountable_id=internal.pk,
                consulted_ids=[msp.pk],
            )
        desk.add_coverage(actor=actor, tenant=tenant, party=internal, calendar_id=office.pk)
        desk.add_coverage(
            actor=actor, tenant=tenant, party=msp, calendar_id=around.pk, max_priority=2
        )
        targets = {str(p): {"first_response": 30 * p, "resolution": 240 * p} for p in range(1, 6)}
        desk.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="OLA",
            party=internal,
            calendar_id=office.pk,
            targets=targets,
        )
        desk.create_sla_policy(
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


def run(*, tickets: int = 2000, queue_requests: int = 200, recompute: int = 20000) -> list[Figure]:
    """Run the scenarios and return the figures."""
    import datetime as dt
    import random

    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope, system_context
    from tandem.servicedesk import services as desk
    from tandem.servicedesk.models import Ticket
    from tandem.servicedesk.sla_bridge import recompute_sla
    from tandem.sla import bench as sla_bench

    stamp = time.strftime("%Y%m%d%H%M%S")
    world = _set_up(stamp)
    tenant, tech = world["tenant"], world["tech"]
    principal = resolve_principal(tech)
    rng = random.Random(7)
    figures: list[Figure] = []

    # 1. Ticket creation with routing, SLA and audit, through the service.
    def create_all() -> None:
        with principal_scope(principal):
            for index in range(tickets):
                desk.create_ticket(
                    actor=principal,
                    tenant=tenant,
                    requester=tech,
                    subject=f"Bench ticket {index}",
                    service_area_id=world["areas"]["server-patching"],
                    impact=rng.randint(1, 3),
                    urgency=rng.randint(1, 3),
                )

    elapsed = _timed(create_all)
    figures.append(
        Figure(
            "ticket create (routing + SLA + audit)",
            tickets / elapsed,
            "tickets/s",
            {"tickets": tickets, "seconds": round(elapsed, 2)},
        )
    )

    # 2. Queue pages through the API (server time as seen by the test client, no network).
    def queue(user: Any, url: str, label: str) -> None:
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
                {"queries": max(queries), "requests": queue_requests},
            )
        )
        figures.append(
            Figure(f"{label} p95", _percentile(timings, 95), "ms", {"queries": max(queries)})
        )

    queue(tech, f"/api/v1/tickets?tenant_id={tenant.pk}&limit=50", "tenant queue page (50 rows)")
    queue(world["msp_tech"], "/api/v1/tickets?limit=50", "provider cross-tenant queue (50 rows)")

    # 3. SLA recomputation: the pure clock, then the ORM round trip.
    rate = sla_bench.bench(recompute)
    figures.append(Figure("SLA recompute, pure clock", rate, "tickets/s", {"tickets": recompute}))
    with system_context("bench: SLA recompute"):
        sample = list(Ticket.objects.filter(tenant=tenant).select_related("tenant")[:500])
        now = dt.datetime.now(dt.UTC)
        elapsed = _timed(lambda: [recompute_sla(t, now=now) for t in sample])
    figures.append(
        Figure(
            "SLA recompute with load and store (ORM)",
            len(sample) / elapsed,
            "tickets/s",
            {"tickets": len(sample)},
        )
    )
    return figures


def report(figures: list[Figure], *, as_json: bool) -> str:
    from django.conf import settings

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    if as_json:
        return json.dumps({"database": database, "figures": [asdict(f) for f in figures]}, indent=2)
    lines = [f"tandem bench desk on {database}"]
    for fig in figures:
        extra = ", ".join(f"{k}={v}" for k, v in fig.detail.items())
        lines.append(f"  {fig.name:<48} {fig.value:>12,.1f} {fig.unit:<10} {extra}")
    return "\n".join(lines)
