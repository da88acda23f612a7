"""The ``tandem`` command: help for everything, clear errors, non-zero exits, no half writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tandem.audit.models import AuditEntry
from tandem.cli import build_parser
from tandem.cli import main as tandem
from tandem.core.scoping import system_context
from tandem.tenancy.models import Engagement, Provider, Tenant

COMMANDS = [
    ["up"],
    ["serve"],
    ["worker"],
    ["migrate"],
    ["demo"],
    ["createtenant"],
    ["createprovider"],
    ["createuser"],
    ["grant"],
    ["openapi"],
    ["bench"],
    ["mail-listen"],
    ["mail-unrouted"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "export"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: tandem" in capsys.readouterr().out


def test_the_installed_command_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tandem.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "createtenant" in done.stdout


def _audit_count() -> int:
    with system_context("test"):
        return AuditEntry.objects.count()


def test_createtenant_with_owner(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        tandem(
            [
                "createtenant",
                "Initech",
                "initech",
                "--owner",
                "bill@initech.test",
                "--time-zone",
                "America/Denver",
                "--country",
                "us",
            ]
        )
        == 0
    )
    assert "Created tenant Initech" in capsys.readouterr().out
    with system_context("test"):
        tenant = Tenant.objects.get(slug="initech")
        assert tenant.country == "US"
        assert tenant.party_set.filter(kind="internal").count() == 1
        assert tenant.servicearea_set.count() == 10
        from tandem.accounts.models import Membership

        owner = Membership.objects.get(tenant=tenant)
    assert owner.user.email == "bill@initech.test" and owner.role.key == "tenant-owner"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["createtenant", "Bad", "Not A Slug"], "slug"),
        (["createtenant", "Bad", "bad", "--time-zone", "Nowhere/Else"], "time_zone"),
        (["createtenant", "Bad", "bad", "--country", "USA"], "country"),
        (["createtenant", "Acme Corp", "acme2"], "already exists"),
        (["createtenant", "Bad", "bad", "--owner", "not-an-email"], "e-mail"),
        (["createprovider", "Northwind MSP", "northwind2"], "already exists"),
        (["grant", "nope", "northwind", "--area", "backup"], "no tenant"),
        (["grant", "acme", "northwind", "--area", "backup"], "not ended"),
        (["grant", "acme", "fresh", "--area", "astrology"], "unknown service areas"),
        (["grant", "acme", "fresh", "--area", "backup", "--site", "Moon base"], "unknown sites"),
        (["grant", "acme", "fresh", "--area", "backup", "--allow", "sudo"], "Unknown actions"),
        (["audit", "verify", "--tenant", "nope"], "no tenant"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(world, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    before = _audit_count()
    assert tandem(argv) in (1, 2)
    err = capsys.readouterr().err
    assert err.startswith("tandem: error:") and message in err
    assert _audit_count() == before


def test_bad_date_is_a_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        tandem(["grant", "acme", "fresh", "--area", "backup", "--ends", "soon"])
    assert exit_.value.code == 2
    assert "is not a date" in capsys.readouterr().err


def test_grant_and_accept(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        tandem(
            [
                "grant",
                "acme",
                "fresh",
                "--area",
                "backup",
                "--area",
                "network",
                "--site",
                "Acme HQ site",
                "--allow",
                "tickets.work",
                "--accept",
            ]
        )
        == 0
    )
    with system_context("test"):
        engagement = Engagement.objects.get(provider__slug="fresh")
        assert engagement.status == "active"
        assert sorted(a.key for a in engagement.service_areas.all()) == ["backup", "network"]
        assert [s.name for s in engagement.sites.all()] == ["Acme HQ site"]


def test_createprovider_with_admin(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        tandem(["createprovider", "Umbrella IT", "umbrella", "--admin", "boss@umbrella.test"]) == 0
    )
    assert Provider.objects.filter(slug="umbrella").exists()


def test_audit_export_writes_json_lines(world, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "audit.jsonl"
    assert tandem(["audit", "export", "--tenant", "globex", "--output", str(target)]) == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines and {entry["tenant_id"] for entry in lines} == {world["other_tenant"]}
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))


def test_createuser_reads_password_from_stdin(world, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("weak\n"))
    assert tandem(["createuser", "ops@tandem.test", "Ops", "--operator", "--password-stdin"]) == 2
    assert "password" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-much-better-passphrase\n"))
    assert tandem(["createuser", "ops@tandem.test", "Ops", "--operator", "--password-stdin"]) == 0


def test_bench_desk_reports_every_figure_as_json(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        tandem(
            [
                "bench",
                "desk",
                "--tickets",
                "3",
                "--requests",
                "2",
                "--recompute",
                "20",
                "--processes",
                "1",  # forked processes would not see this test's uncommitted data
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    names = [f["name"] for f in report["figures"]]
    assert "ticket create (routing + SLA + audit)" in names
    for queue in ("tenant queue, API (50 rows)", "provider cross-tenant queue, page"):
        assert f"{queue} p50" in names and f"{queue} p95" in names
    assert all(f["value"] > 0 for f in report["figures"])
    queries = {f["name"]: f["detail"]["queries"] for f in report["figures"] if "queue" in f["name"]}
    assert all(count > 0 for count in queries.values())


def test_bench_refuses_nonsense_options(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert tandem(["bench", "desk", "--processes", "0"]) != 0
    assert "positive" in capsys.readouterr().err
    assert tandem(["bench", "desk", "--scale", "--tickets", "2", "--processes", "1"]) != 0
    assert "demo --scale" in capsys.readouterr().err


def test_demo_loads_a_working_desk_once(world, capsys) -> None:  # type: ignore[no-untyped-def]
    from tandem.servicedesk.models import Ticket

    assert tandem(["demo"]) == 0
    assert "owner@contoso.example" in capsys.readouterr().out
    with system_context("test"):
        reasons = list(
            Ticket.objects.filter(tenant__slug="contoso").values_list("routing_reason", flat=True)
        )
    assert len(reasons) == 3 and all("→" in r for r in reasons)
    assert tandem(["demo"]) == 0
    assert "already loaded" in capsys.readouterr().out


def test_migrate_gives_sqlite_planner_statistics(world, capsys) -> None:  # type: ignore[no-untyped-def]
    """Without statistics SQLite sorted a provider's whole queue instead of walking the
    newest-first index; ``tandem migrate`` (and a daily job) gather them."""
    from django.db import connection

    from tandem.config.schedule import SCHEDULE
    from tandem.core.maintenance import refresh_query_statistics_task

    assert "refresh-query-statistics" in {name for name, _every, _path in SCHEDULE}
    assert tandem(["migrate"]) == 0
    if connection.vendor != "sqlite":
        assert refresh_query_statistics_task.call() is False  # PostgreSQL analyses itself
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'servicedesk_ticket'")
        assert cursor.fetchone()[0] > 0
    assert refresh_query_statistics_task.call() is True
