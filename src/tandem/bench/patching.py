"""``tandem bench patching``: patch compliance at fleet size (decision 0048).

A scratch tenant gets a generated fleet (``tandem.scale.patching``: N devices over three
sites, ~50 update states each), then: the live computation (what every read cost before
snapshots), the worker's snapshot refresh, the compliance page, API and CSV as the tenant's
owner through Django's test client (server time, no network), reading the snapshot, and a
provider's narrowed read (one site's devices, summed in SQL over the snapshot's
standings), in process. Measured and reported, never asserted.
"""

from __future__ import annotations

import json
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
from tandem.patching.models import ComplianceSnapshot, ComplianceStanding
from tandem.scale.patching import build_patching_fleet
from tandem.tenancy.services import create_site


def _timed(runs: int, call: Callable[[], Any]) -> list[float]:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


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

    with within_tenant(tenant.pk):
        live = _timed(1, lambda: queries.compliance_for_tenant(tenant.pk))
    figures.append(
        Figure(
            "live computation (before: every read)",
            statistics.median(live),
            "ms",
            {"runs": len(live)},
        )
    )
    with system_context("bench patching: refresh"):
        refresh = _timed(
            1,
            lambda: snapshot_services.refresh_compliance_snapshot(actor=actor, tenant_id=tenant.pk),
        )
    figures.append(
        Figure(
            "snapshot refresh (worker)", statistics.median(refresh), "ms", {"runs": len(refresh)}
        )
    )

    with within_tenant(tenant.pk):
        # A provider that sees one site of four: its figures summed in SQL over the
        # standings of that site's devices (what compliance_for_reader does for it).
        snapshot = ComplianceSnapshot.objects.get(tenant_id=tenant.pk)
        options = queries.compliance_options(queries.compliance_settings(tenant.pk))
        one_site = ComplianceStanding.objects.filter(tenant_id=tenant.pk, site_id=sites[0])
        narrowed = _timed(
            requests,
            lambda: compliance.summarise_parts(
                snapshot_queries.standing_parts(one_site), snapshot.computed_at, options
            ),
        )
    figures.append(
        Figure(
            "narrowed read p50 (one site, SQL aggregate)",
            statistics.median(narrowed),
            "ms",
            {"runs": len(narrowed)},
        )
    )

    client = Client()
    client.force_login(owner)
    for label, url in (
        ("compliance API", f"/api/v1/patching/tenants/{tenant.pk}/compliance"),
        ("compliance page", f"/tenants/{tenant.pk}/patching/compliance/"),
        ("compliance CSV", f"/tenants/{tenant.pk}/patching/compliance.csv"),
    ):
        client.get(url)  # warm the session and caches
        timings, counts = [], []
        for _ in range(requests):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(url)
                response.getvalue()  # the CSV streams: read all of it
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.content[:200]
            counts.append(len(captured))
        figures.append(
            Figure(
                f"{label} p50 (owner, snapshot)",
                statistics.median(timings),
                "ms",
                {"queries": max(counts), "requests": requests},
            )
        )
        figures.append(Figure(f"{label} p95 (owner, snapshot)", _percentile(timings, 95), "ms"))
    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "tenant": tenant.slug,
        "devices": fleet["devices"],
        "states": fleet["states"],
        "generated_seconds": round(generated, 1),
        "figures": [asdict(f) for f in figures],
    }


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, indent=2)
    lines = [
        f"tandem bench patching on {result['database']}: {result['devices']:,} devices, "
        f"{result['states']:,} update states (generated in {result['generated_seconds']} s)"
    ]
    for fig in result["figures"]:
        extra = ", ".join(f"{k}={v}" for k, v in fig["detail"].items())
        lines.append(f"  {fig['name']:<44} {fig['value']:>12,.1f} {fig['unit']:<4} {extra}")
    return "\n".join(lines)
