"""Software titles no device holds are purged, and never from under a check-in (decision
0049)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from tandem.agents import titles
from tandem.agents.checkin_services import purge_unheld_titles
from tandem.agents.documents import state_hash
from tandem.agents.models import InstalledSoftware, SoftwareTitle
from tandem.agents.tests.support import check_in, document, enrol, full, make_token, report
from tandem.agents.title_cache import CACHE
from tandem.assets.models import Device
from tandem.core.scoping import system_context


def _titles(tenant_id: int) -> set[tuple[str, str]]:
    with system_context("test: titles"):
        return set(SoftwareTitle.objects.filter(tenant_id=tenant_id).values_list("name", "version"))


@pytest.mark.django_db
def test_titles_no_device_holds_are_purged_and_come_back_when_reported(client, world) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    one = enrol(client, secret, hardware_id="hw-1").json()
    two = enrol(client, secret, hardware_id="hw-2", hostname="lab-2").json()
    first = document({"bash": "5.2", "zsh": "5.9"})
    check_in(client, one["credential"], one["device_id"], [full(1, first)])
    check_in(client, two["credential"], two["device_id"], [full(1, document({"bash": "5.2"}))])
    # Device one upgrades bash and drops zsh: bash 5.2 is still device two's, zsh is no
    # one's.
    after = document({"bash": "5.3"})
    check_in(client, one["credential"], one["device_id"], [full(2, after)])
    with system_context("test"):
        tenant_id = SoftwareTitle.objects.values_list("tenant_id", flat=True).first()
    assert _titles(tenant_id) == {("bash", "5.2"), ("bash", "5.3"), ("zsh", "5.9")}

    # One title per transaction: the batches move on by id and miss none.
    assert purge_unheld_titles(batch=1) == 1
    assert _titles(tenant_id) == {("bash", "5.2"), ("bash", "5.3")}
    assert purge_unheld_titles() == 0
    # Both devices still list what they have.
    with system_context("test"):
        held = sorted(
            InstalledSoftware.objects.values_list("device_id", "title__name", "title__version")
        )
    assert held == [
        (int(one["device_id"]), "bash", "5.3"),
        (int(two["device_id"]), "bash", "5.2"),
    ]
    # zsh installed again: its title is made again and the device holds it.
    again = document({"bash": "5.3", "zsh": "5.9"})
    answer = check_in(
        client,
        one["credential"],
        one["device_id"],
        [report(3, state_hash=state_hash(again), inventory=again)],
    )
    assert answer.status_code == 200
    assert ("zsh", "5.9") in _titles(tenant_id)
    with system_context("test"):
        names = set(
            InstalledSoftware.objects.filter(device_id=one["device_id"]).values_list(
                "title__name", flat=True
            )
        )
    assert names == {"bash", "zsh"}


ZSH = ("zsh", "5.9", "amd64", "zsh", "5.9")


def _device_and_an_unheld_title(world: Any) -> tuple[Device, dict[str, int]]:
    """An enrolled device, and the ids of a title (zsh) its tenant has and no device holds:
    a purge would delete it."""
    _token, secret = make_token(world)
    enrolled = enrol(Client(), secret).json()
    with system_context("test"):
        device = Device.objects.get(pk=enrolled["device_id"])
    with system_context("test"), transaction.atomic():
        ids = titles.title_ids(
            tenant_id=device.tenant_id, rows={"zsh:amd64": ZSH}, now=timezone.now()
        )
    return device, ids


def _waiting_on_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: on SQLite every write transaction is BEGIN IMMEDIATE, so a "
    "purge and a check-in cannot overlap at all",
)
@pytest.mark.django_db(transaction=True)
def test_a_purge_waits_for_a_check_in_that_resolved_a_title_it_would_delete(world) -> None:  # type: ignore[no-untyped-def]
    device, ids = _device_and_an_unheld_title(world)
    tenant_id, row = device.tenant_id, ZSH
    # The title exists and no device holds it: a purge would delete it.
    resolved = threading.Event()
    commit = threading.Event()
    outcome: dict[str, Any] = {}

    def checking_in() -> None:
        try:
            with system_context("test"), transaction.atomic():
                outcome["ids"] = titles.title_ids(
                    tenant_id=tenant_id, rows={"zsh:amd64": row}, now=timezone.now()
                )
                resolved.set()
                commit.wait(timeout=30)
                titles.add_software(device=device, title_ids=outcome["ids"].values())
        finally:
            connections.close_all()

    def purging() -> None:
        try:
            outcome["purged"] = purge_unheld_titles()
        finally:
            connections.close_all()

    checker = threading.Thread(target=checking_in)
    checker.start()
    assert resolved.wait(timeout=30)
    purger = threading.Thread(target=purging)
    purger.start()
    # Either the purge waits on the check-in's title lock, or (were there no lock) it
    # finishes first and deletes the title the check-in is about to use.
    deadline = time.monotonic() + 30
    while purger.is_alive() and not _waiting_on_advisory_lock():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    commit.set()
    checker.join(timeout=30)
    purger.join(timeout=30)
    assert outcome["ids"] == ids
    assert outcome["purged"] == 0
    with system_context("test"):
        held = list(InstalledSoftware.objects.values_list("title__name", "title__version"))
    assert held == [("zsh", "5.9")]


def _orphans() -> int:
    """Rows naming a title that does not exist (no foreign key catches them)."""
    with system_context("test"):
        titles_there = set(SoftwareTitle.objects.values_list("pk", flat=True))
        return sum(
            1
            for title_id in InstalledSoftware.objects.values_list("title_id", flat=True)
            if title_id not in titles_there
        )


@pytest.mark.django_db
def test_a_title_id_cached_before_a_purge_is_not_used_after_it(  # type: ignore[no-untyped-def]
    client, world, django_capture_on_commit_callbacks
) -> None:
    CACHE.clear()
    _token, secret = make_token(world)
    one = enrol(client, secret, hardware_id="hw-1").json()
    two = enrol(client, secret, hardware_id="hw-2", hostname="lab-2").json()
    with django_capture_on_commit_callbacks(execute=True):
        check_in(
            client,
            one["credential"],
            one["device_id"],
            [full(1, document({"bash": "5.2", "zsh": "5.9"}))],
        )
    # This process now answers bash and zsh from memory.
    assert len(CACHE) == 2
    with django_capture_on_commit_callbacks(execute=True):
        check_in(client, one["credential"], one["device_id"], [full(2, document({"bash": "5.2"}))])
    assert purge_unheld_titles() == 1  # zsh: no device holds it
    # Device two reports zsh: the id remembered for it names a purged title; the check-in
    # must make the title again, not write a row pointing at nothing.
    with django_capture_on_commit_callbacks(execute=True):
        answer = check_in(
            client,
            two["credential"],
            two["device_id"],
            [full(1, document({"bash": "5.2", "zsh": "5.9"}))],
        )
    assert answer.status_code == 200
    assert _orphans() == 0
    with system_context("test"):
        names = set(
            InstalledSoftware.objects.filter(device_id=two["device_id"]).values_list(
                "title__name", "title__version"
            )
        )
    assert names == {("bash", "5.2"), ("zsh", "5.9")}


@pytest.mark.django_db
def test_titles_a_rolled_back_check_in_resolved_are_not_remembered(world) -> None:  # type: ignore[no-untyped-def]
    CACHE.clear()
    _token, secret = make_token(world)
    enrolled = enrol(Client(), secret).json()
    with system_context("test"):
        tenant_id = Device.objects.get(pk=enrolled["device_id"]).tenant_id
    row = ("zsh", "5.9", "amd64", "zsh", "5.9")
    with pytest.raises(RuntimeError), system_context("test"), transaction.atomic():
        titles.title_ids(tenant_id=tenant_id, rows={"zsh:amd64": row}, now=timezone.now())
        raise RuntimeError("the check-in fails after resolving its titles")
    assert len(CACHE) == 0
    assert _titles(tenant_id) == set()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: on SQLite a purge and a check-in cannot overlap at all",
)
@pytest.mark.django_db(transaction=True)
def test_a_check_in_that_waited_for_a_purge_reads_the_generation_after_it(world) -> None:  # type: ignore[no-untyped-def]
    """The generation is read after the title lock is granted: read in the lock's own
    statement, its snapshot would predate the purge the check-in waited for, and the cache
    would answer the id that purge deleted."""
    CACHE.clear()
    device, before = _device_and_an_unheld_title(world)
    tenant_id, row = device.tenant_id, ZSH
    assert len(CACHE) == 1  # remembered, and no device holds the title
    locked, go = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def purging() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [titles._TITLE_LOCK, tenant_id]
                )
                locked.set()
                go.wait(timeout=30)
                outcome["purged"] = purge_unheld_titles()
        finally:
            connections.close_all()

    purger = threading.Thread(target=purging)
    purger.start()
    assert locked.wait(timeout=30)

    def checking_in() -> None:
        try:
            with system_context("test"), transaction.atomic():
                outcome["ids"] = titles.title_ids(
                    tenant_id=tenant_id, rows={"zsh:amd64": row}, now=timezone.now()
                )
                titles.add_software(device=device, title_ids=outcome["ids"].values())
        finally:
            connections.close_all()

    checker = threading.Thread(target=checking_in)
    checker.start()
    deadline = time.monotonic() + 30
    while not _waiting_on_advisory_lock():  # the check-in waits for the purge
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go.set()
    purger.join(timeout=30)
    checker.join(timeout=30)
    assert outcome["purged"] == 1
    assert outcome["ids"] != before  # made again, not the purged id
    assert _orphans() == 0
    with system_context("test"):
        held = list(InstalledSoftware.objects.values_list("title__name", "title__version"))
    assert held == [("zsh", "5.9")]
