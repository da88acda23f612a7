"""``tandem bench patching``: patch compliance at fleet size (decision 0048).

A scratch tenant gets a generated fleet (``tandem.scale.patching``: N devices over three
sites, ~50 update states each), then: the live computation (what every read cost before
snapshots), the worker's snapshot refresh, the compliance page, API and CSV as the tenant's
owner through Django's test client (server time, no network), reading the snapshot, under
the tenant's preset and under another one (the snapshot holds every preset's figures), and
a provider's narrowed read (one site's devices, summed in SQL over the snapshot's
standings), in process. Measured and reported, never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tandem.accounts.models import User
from tandem.accounts.services import create_tenant_with_owner
from tandem.bench.desk import Figure, _percentile
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching import compliance, queries, snapshot_queries, snapshot_services
from tandem.patching.models import ComplianceDevice, ComplianceSnapshot, ComplianceStanding
from tandem.scale.patching import build_patching_fleet, install_one_update_each
from tandem.tenancy.services import create_site

#: The preset the benchmark compares under: not the tenant's (the default, Cyber Essentials).
OTHER_PRESET = "cis_7_3"


def _timed(runs: int, call: Callable[[], Any], cpu: list[float] | None = None) -> list[float]:
    """Wall milliseconds of each run; with ``cpu``, the process's CPU milliseconds too (the
    machine is shared: CPU per unit is the figure that does not move with the load)."""
    timings = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        timings.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) * 1000)
    return timings


#: The tables a snapshot's refresh writes besides the snapshot row (decision 0048).
STORED = (ComplianceDevice, ComplianceStanding)


def _stored_stats() -> dict[str, int] | None:
    """The snapshot tables' size with their indexes, and the rows inserted, updated and
    deleted in them so far (PostgreSQL's statistics, flushed first), or None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    found = {"bytes": 0, "inserted": 0, "updated": 0, "deleted": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        for model in STORED:
            table = model._meta.db_table
            cursor.execute(
                "SELECT pg_total_relation_size(relid), n_tup_ins, n_tup_upd, n_tup_del "
                "FROM pg_stat_user_tables WHERE relname = %s",
                [table],
            )
            size, inserted, updated, deleted = cursor.fetchone()
            found["bytes"] += int(size)
            found["inserted"] += int(inserted)
            found["updated"] += int(updated)
            found["deleted"] += int(deleted)
    return found


def _refresh_figure(name: str, tenant_id: int, actor: Any) -> Figure:
    """One snapshot refresh: wall and CPU time, the rows it wrote (inserted, updated,
    deleted) and the tables' size after it (PostgreSQL)."""
    before = _stored_stats()
    cpu: list[float] = []
    with system_context("bench patching: refresh"):
        wall = _timed(
            1,
            lambda: snapshot_services.refresh_compliance_snapshot(actor=actor, tenant_id=tenant_id),
            cpu,
        )
        rows = sum(m.objects.filter(tenant_id=tenant_id).count() for m in STORED)
    after = _stored_stats()
    detail: dict[str, Any] = {"cpu_ms": round(cpu[0]), "rows": rows}
    if before is not None and after is not None:
        detail.update(
            {key: after[key] - before[key] for key in ("inserted", "updated", "deleted")},
            stored_mb=round(after["bytes"] / 2**20, 1),
        )
    return Figure(name, wall[0], "ms", detail)


def run(
    *, devices: int = 10_000, states: int = 50, requests: int = 20, seed: int = 1
) -> dict[str, Any]:
    """Generate the fleet, measure, and return the figures as plain data."""
    actor = system_principal("bench patching")
    stamp = time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]
    email = f"owner-{stamp}@bench.invalid"
    with system_context("bench patching: set-up"):
        tenant = create_tenant_with_owner(
            actor=actor,
            name=f"Bench patching {stamp}",
            slug=f"bench-patching-{stamp}",
            owner_email=email,
        )
        sites = [create_site(actor=actor, tenant=tenant, name=f"Site {n}").pk for n in range(3)]
        owner = User.objects.get(email=email)
    started = time.perf_counter()
    with within_tenant(tenant.pk):
        fleet = build_patching_fleet(
            tenant_id=tenant.pk,
            devices=devices,
            states_per_device=states,
            site_ids=(*sites, None),
            seed=seed,
            prefix=f"bench-{stamp}",
        )
    if connection.vendor == "postgresql":
        # Fresh bulk rows have no statistics yet (autovacuum analyses them later): without
        # them the planner picks nested loops for the states' join, which a live system
        # with its usual statistics never sees.
        with connection.cursor() as cursor:
            for table in (
                "assets_device",
                "patching_deviceupdatestate",
                "patching_updatecatalogueentry",
            ):
                cursor.execute(f"ANALYZE {table}")
    generated = time.perf_counter() - started
    figures: list[Figure] = []

    live_cpu: list[float] = []
    with within_tenant(tenant.pk):
        live = _timed(1, lambda: queries.compliance_for_tenant(tenant.pk), live_cpu)
    figures.append(
        Figure(
            "live computation (before: every read)",
            statistics.median(live),
            "ms",
            {"runs": len(live), "cpu_ms": round(live_cpu[0])},
        )
    )
    figures.append(_refresh_figure("snapshot refresh 1 (worker, every preset)", tenant.pk, actor))
    for n in (2, 3):
        figures.append(_refresh_figure(f"snapshot refresh {n} (nothing changed)", tenant.pk, actor))
    with within_tenant(tenant.pk):
        changed = len(install_one_update_each(tenant_id=tenant.pk, devices=max(devices // 100, 1)))
    figures.append(
        _refresh_figure(f"snapshot refresh 4 ({changed} devices changed)", tenant.pk, actor)
    )

    with within_tenant(tenant.pk):
        # A provider that sees one site of four: its figures summed in SQL over the
        # standings of that site's devices (what compliance_for_reader does for it).
        snapshot = ComplianceSnapshot.objects.get(tenant_id=tenant.pk)
        options = queries.compliance_options(queries.compliance_settings(tenant.pk))
        one_site = ComplianceStanding.objects.filter(
            tenant_id=tenant.pk, device__site_id=sites[0], preset=options.rule.preset
        )
        narrowed_cpu: list[float] = []
        narrowed = _timed(
            requests,
            lambda: compliance.summarise_parts(
                snapshot_queries.standing_parts(one_site), snapshot.computed_at, options
            ),
            narrowed_cpu,
        )
    figures.append(
        Figure(
            "narrowed read p50 (one site, SQL aggregate)",
            statistics.median(narrowed),
            "ms",
            {"runs": len(narrowed), "cpu_ms_p50": round(statistics.median(narrowed_cpu), 1)},
        )
    )

    client = Client()
    client.force_login(owner)
    other = f"?preset={OTHER_PRESET}"
    for label, url in (
        ("compliance API", f"/api/v1/patching/tenants/{tenant.pk}/compliance"),
        ("compliance page", f"/tenants/{tenant.pk}/patching/compliance/"),
        ("compliance CSV", f"/tenants/{tenant.pk}/patching/compliance.csv"),
        (f"API, {OTHER_PRESET}", f"/api/v1/patching/tenants/{tenant.pk}/compliance{other}"),
        (f"page, {OTHER_PRESET}", f"/tenants/{tenant.pk}/patching/compliance/{other}"),
    ):
        client.get(url)  # warm the session and caches
        timings, counts, cpu = [], [], []
        for _ in range(requests):
            with CaptureQueriesContext(connection) as captured:
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                response.getvalue()  # the CSV streams: read all of it
                timings.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 200, response.content[:200]
            counts.append(len(captured))
        figures.append(
            Figure(
                f"{label} p50 (owner, snapshot)",
                statistics.median(timings),
                "ms",
                {
                    "queries": max(counts),
                    "requests": requests,
                    "cpu_ms_p50": round(statistics.median(cpu), 1),
                },
            )
        )
        figures.append(Figure(f"{label} p95 (owner, snapshot)", _percentile(timings, 95), "ms"))
    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "tenant": tenant.slug,
        "devices": fleet["devices"],
        "states": fleet["states"],
        "generated_seconds": round(generated, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "figures": [asdict(f) for f in figures],
    }


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, indent=2)
    lines = [
        f"tandem bench patching on {result['database']}: {result['devices']:,} devices, "
        f"{result['states']:,} update states (generated in {result['generated_seconds']} s), "
        f"load average {result['load_average']}"
    ]
    for fig in result["figures"]:
        extra = ", ".join(f"{k}={v}" for k, v in fig["detail"].items())
        lines.append(f"  {fig['name']:<44} {fig['value']:>12,.1f} {fig['unit']:<4} {extra}")
    return "\n".join(lines)
