"""Concurrent detection workers (decision 0037) on PostgreSQL: two workers that raise the
same alert at once make one alert (the second waits on the first's unique key, then
updates its alert), and workers updating one alert never lose a count (its row lock).
SQLite runs one writing transaction at a time, so these run on PostgreSQL only."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from tandem.alerts.tests.support import alerts_of, detection, record

pytestmark = pytest.mark.django_db(transaction=True)


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and unique-key waits: PostgreSQL")


def test_two_workers_raising_the_same_alert_make_one(world) -> None:  # type: ignore[no-untyped-def]
    _postgres_only()
    tenant = world["tenant"]
    raised, release, second_done = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = record(tenant, detection(), detection())
                raised.set()
                release.wait(10)  # holds its new alert uncommitted
        finally:
            connections.close_all()

    def second() -> None:
        try:
            results["second"] = record(tenant, detection())
            second_done.set()
        finally:
            connections.close_all()

    one = threading.Thread(target=first)
    one.start()
    assert raised.wait(20)
    two = threading.Thread(target=second)
    two.start()
    assert not second_done.wait(1)  # it waits on the first's alert ...
    release.set()
    one.join(20)
    two.join(20)
    assert second_done.is_set()  # ... and then joins it
    alerts = alerts_of(tenant)
    assert len(alerts) == 1
    assert alerts[0].event_count == 3
    assert results["second"].updated == [alerts[0].pk]  # type: ignore[attr-defined]


def test_workers_updating_one_alert_lose_no_count(world) -> None:  # type: ignore[no-untyped-def]
    _postgres_only()
    tenant = world["tenant"]
    record(tenant, detection())
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(10)
            for _ in range(5):
                record(tenant, *[detection() for _ in range(3)])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    alerts = alerts_of(tenant)
    assert len(alerts) == 1
    assert alerts[0].event_count == 1 + 4 * 5 * 3
