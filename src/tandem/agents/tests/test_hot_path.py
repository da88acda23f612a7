"""The check-in's hot path: a first full inventory of ~1,500 packages is a handful of
statements (no per-package query), a heartbeat fewer still, and both are fast."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.agents.documents import state_hash
from tandem.agents.models import InstalledSoftware
from tandem.agents.tests.support import check_in, document, enrol, full, make_token, report
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db

PACKAGES = {f"package-{n:04d}": f"1.{n}-1" for n in range(1500)}


def test_a_first_full_inventory_of_1500_packages_is_set_based(client, world, settings) -> None:  # type: ignore[no-untyped-def]
    # The check-in's own cost: its event (device.pending_updates_changed, one INSERT) is
    # handled by patching in the worker, after commit, not inside the request; the suite's
    # eager dispatch would count the subscriber's queries here.
    settings.EVENTS_EAGER = False
    _token, secret = make_token(world)
    body = enrol(client, secret).json()
    first = document(
        PACKAGES, {f"package-{n:04d}": (f"1.{n}-1", f"1.{n}-2", n % 3 == 0) for n in range(40)}
    )
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        answer = check_in(client, body["credential"], body["device_id"], [full(1, first)])
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.content
    with system_context("test"):
        assert InstalledSoftware.objects.filter(device_id=body["device_id"]).count() == 1500
    # Never one statement per package: a few reads and writes, and the rows inserted in
    # batches (1,000 a statement on PostgreSQL; SQLite's variable limit makes them smaller).
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    others = [q["sql"][:80] for q in queries if not q["sql"].startswith("INSERT")]
    assert len(others) < 25, others
    assert len(inserts) <= 40
    assert elapsed < 5, elapsed

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        unchanged = report(2, state_hash=state_hash(first), unchanged=True)
        assert (
            check_in(client, body["credential"], body["device_id"], [unchanged]).status_code == 200
        )
    assert len(queries) < 15
