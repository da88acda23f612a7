"""The ``tandem`` command: help for everything, clear errors, non-zero exits, no half writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils.timezone import now as timezone_now

from tandem.audit.models import AuditEntry
from tandem.cli import build_parser
from tandem.cli import main as tandem
from tandem.core.scoping import system_context
from tandem.logs.ingest import source_for_sender
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
    ["tenants"],
    ["providers"],
    ["grant"],
    ["openapi"],
    ["bench"],
    ["mail-listen"],
    ["mail-unrouted"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "export"],
    ["events"],
    ["events", "list"],
    ["events", "retry"],
    ["events", "purge"],
    ["detection-worker"],
    ["syslog-listen"],
    ["archive-worker"],
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
    assert tandem(["bench", "ingest", "--parts", "http,ftp"]) != 0
    assert "--parts takes http, syslog and detection" in capsys.readouterr().err
    assert (
        tandem(["bench", "ingest", "--parts", "syslog", "--server", "http://x", "--stream", "nats"])
        != 0
    )
    assert "HTTP part only" in capsys.readouterr().err


def test_demo_loads_a_working_desk_once(world, capsys) -> None:  # type: ignore[no-untyped-def]
    from tandem.servicedesk.tickets.models import Ticket

    assert tandem(["demo"]) == 0
    assert "owner@contoso.example" in capsys.readouterr().out
    with system_context("test"):
        reasons = list(
            Ticket.objects.filter(tenant__slug="contoso").values_list("routing_reason", flat=True)
        )
    assert len(reasons) >= 3
    assert all("→" in r or r.startswith("Handed off by") for r in reasons)
    # The syslog listener `tandem up` starts on loopback files a line sent from this
    # machine under Contoso (it refuses senders that no source names).
    mine = source_for_sender("127.0.0.1")
    assert mine is not None and mine.tenant.slug == "contoso" and mine.enabled
    assert source_for_sender("::1") == mine
    assert source_for_sender("192.0.2.10") is None
    assert tandem(["demo"]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert tandem(["audit", "verify"]) == 0  # the history went through audited services


def _stat(page: str, name: str) -> str:
    found = re.search(rf'id="stat-{name}">([^<]*)<', page)
    assert found, name
    return found.group(1)


def _section(page: str, name: str) -> str:
    start = page.index(f'id="{name}"')
    return page[start : page.index("</section>", start)]


def test_the_demo_desk_has_figures_on_every_dashboard(world, client, capsys) -> None:  # type: ignore[no-untyped-def]
    """A new user opening any dashboard of the demo sees four weeks of work: breaches,
    handoffs (one ping-pong), time logged and a backlog of several ages, dated from now."""
    from tandem.accounts.models import User
    from tandem.servicedesk.tickets.models import Comment, Ticket

    assert tandem(["demo"]) == 0
    with system_context("test"):
        ids = dict(Tenant.objects.values_list("slug", "pk"))
        northwind = Provider.objects.get(slug="northwind-it").pk
        owners = {
            e: User.objects.get(email=e)
            for e in ("owner@contoso.example", "owner@fabrikam.example", "admin@northwind.example")
        }
        oldest = Ticket.objects.filter(tenant_id=ids["contoso"]).order_by("created_at").first()
        old_note = Comment.objects.filter(ticket=oldest).first()
    # Opened weeks ago, not at load time: the ages and the queue's dates tell a history.
    assert oldest is not None and (timezone_now() - oldest.created_at).days >= 14
    assert old_note is not None and old_note.created_at < timezone_now() - dt.timedelta(days=14)
    for email, url in (
        ("owner@contoso.example", f"/tenants/{ids['contoso']}/dashboard/"),
        ("owner@fabrikam.example", f"/tenants/{ids['fabrikam']}/dashboard/"),
        ("admin@northwind.example", f"/providers/{northwind}/dashboard/"),
    ):
        client.force_login(owners[email])
        page = client.get(url).content.decode()
        assert int(_stat(page, "open")) > 0, email
        assert int(_stat(page, "handoffs")) > 0, email
        assert int(_stat(page, "ping-pong")) > 0, email
        assert _stat(page, "time") not in {"0m", ""}, email
        breaches = _section(page, "breaches")
        assert "No breaches." not in breaches and "<svg" in breaches, email
        backlog = _section(page, "backlog")
        ages = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', backlog)]
        assert sum(1 for n in ages if n) >= 2, (email, ages)
        for card in ("attainment", "open-work", "handoffs", "time-logged"):
            assert "nothing to show yet" not in _section(page, card), (email, card)


def test_migrate_gives_sqlite_planner_statistics(world, capsys) -> None:  # type: ignore[no-untyped-def]
    """Without statistics SQLite sorted a provider's whole queue instead of walking the
    newest-first index; ``tandem migrate`` (and a daily job) gather them."""
    from django.db import connection

    from tandem.core.maintenance import refresh_query_statistics_task
    from tandem.core.registry import schedule

    SCHEDULE = schedule()

    assert "refresh-query-statistics" in {name for name, _every, _path in SCHEDULE}
    assert tandem(["migrate"]) == 0
    if connection.vendor != "sqlite":
        assert refresh_query_statistics_task.call() is False  # PostgreSQL analyses itself
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'servicedesk_ticket'")
        assert cursor.fetchone()[0] > 0
    assert refresh_query_statistics_task.call() is True


# --- A new user's first steps (the desk as a new user found it) ---------------------------


def test_version_is_printed(capsys) -> None:  # type: ignore[no-untyped-def]
    from tandem import __version__

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"tandem {__version__}"


def test_a_command_outside_a_data_directory_says_so_and_creates_nothing(tmp_path) -> None:
    """``tandem audit verify`` run from the wrong folder used to create ./var, then fail on a
    missing table with a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in {"TANDEM_DATA_DIR", "DATABASE_URL"}}
    for argv in (["audit", "verify"], ["tenants"], ["grant", "contoso", "northwind-it"]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tandem.cli",
                *argv,
                *(["--area", "x"] if argv[0] == "grant" else []),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env=env,
        )
        assert done.returncode == 1, done
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "no Tandem database in" in lines[0], done.stderr
        assert str(tmp_path / "var") in lines[0] and "tandem migrate" in lines[0]
        assert list(tmp_path.iterdir()) == []  # no ./var left behind


def test_a_database_without_tables_says_migrate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tandem.sqlite3").touch()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TANDEM_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tandem.cli", "tenants"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "tandem: error: the database has no Tandem tables yet: run `tandem migrate`"
    )


def test_up_mails_links_to_the_port_it_serves(world, monkeypatch, settings, capsys) -> None:  # type: ignore[no-untyped-def]
    """``scripts/run --port 8123``: a sign-in link mailed then points at port 8123, in the web
    process and in the worker it starts."""
    from django.core import mail

    from tandem.accounts.services import send_sign_in_link
    from tandem.cli import commands as cli
    from tandem.core.principal import system_principal

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8000"
    monkeypatch.delenv("TANDEM_SITE_URL", raising=False)
    started: dict[str, object] = {}

    class Worker:
        pid = 0

        def __init__(self, argv, **kwargs):  # type: ignore[no-untyped-def]
            started["env"] = dict(os.environ)

        def send_signal(self, sig):  # type: ignore[no-untyped-def]
            pass

        def wait(self, timeout=None):  # type: ignore[no-untyped-def]
            return 0

    def serve(args):  # type: ignore[no-untyped-def]
        send_sign_in_link(actor=system_principal("test"), email="owner@acme.test")
        return 0

    monkeypatch.setattr(cli.subprocess, "Popen", Worker)
    monkeypatch.setattr(cli, "cmd_serve", serve)
    monkeypatch.setattr("django.core.management.call_command", lambda *a, **k: None)
    assert tandem(["up", "--no-demo", "--port", "8123"]) == 0
    assert "running at http://127.0.0.1:8123/" in capsys.readouterr().out
    assert "http://127.0.0.1:8123/login/link/" in mail.outbox[-1].body
    assert started["env"]["TANDEM_SITE_URL"] == "http://127.0.0.1:8123"  # type: ignore[index]


def test_an_explicit_site_url_wins_over_the_port(world, monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    from tandem.cli import commands as cli

    monkeypatch.setenv("TANDEM_SITE_URL", "https://desk.example.test")
    settings.SITE_URL = "https://desk.example.test"
    assert cli._follow_site_url("0.0.0.0", 9000) == "http://127.0.0.1:9000/"
    assert settings.SITE_URL == "https://desk.example.test"


def test_local_mail_is_one_line_per_message_and_kept_whole(settings, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Without SMTP the worker printed every message whole; now one line (to, subject) and
    the message in DATA_DIR/mail for its links."""
    from django.core.mail import EmailMessage, get_connection

    settings.DATA_DIR = tmp_path
    body = "Hello,\n\nUse this link: http://127.0.0.1:8000/login/link/abc/\n\n" + "x\n" * 200
    sent = get_connection("tandem.core.mail.ConsoleSummaryBackend").send_messages(
        [
            EmailMessage("[Contoso #4] Printer on fire", body, to=["a@contoso.example"]),
            EmailMessage("Reset\x1b[2J your password", "link", to=["b@x.example", "c@x.example"]),
        ]
    )
    assert sent == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("mail to a@contoso.example: [Contoso #4] Printer on fire  (")
    assert lines[1].startswith("mail to b@x.example, c@x.example: Reset?[2J your password")
    assert "Use this link" not in "\n".join(lines)
    kept = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(kept) == 2 and "login/link/abc/" in kept[0].read_text()
    assert str(kept[0]) in lines[0]


def test_local_runs_use_the_one_line_mail_backend() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_SMTP")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='tandem.config.settings';"
            "django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert done.stdout.strip() == "tandem.core.mail.ConsoleSummaryBackend"


def test_tenants_and_providers_list_the_slugs_the_docs_use(world, capsys) -> None:  # type: ignore[no-untyped-def]
    """After ``tandem demo``, the slugs `tandem tenants`/`providers` print are the ones
    docs/operations.md uses (or creates a line earlier)."""
    assert tandem(["demo"]) == 0
    capsys.readouterr()
    assert tandem(["tenants"]) == 0
    tenants_out = capsys.readouterr().out
    assert tandem(["providers"]) == 0
    providers_out = capsys.readouterr().out
    assert re.search(
        r"^contoso\s+Contoso Ltd\s+northwind-it \(active\), sentinel", tenants_out, re.M
    )
    assert re.search(
        r"^northwind-it\s+Northwind IT\s+contoso \(active\), fabrikam", providers_out, re.M
    )
    tenants = {line.split()[0] for line in tenants_out.splitlines()[1:]}
    providers = {line.split()[0] for line in providers_out.splitlines()[1:]}

    doc = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    created_tenants = set(re.findall(r"tandem createtenant \"[^\"]+\" ([\w-]+)", doc))
    created_providers = set(re.findall(r"tandem createprovider \"[^\"]+\" ([\w-]+)", doc))
    # Run next to the demo, the doc's create lines must not collide with it.
    assert not created_tenants & tenants and not created_providers & providers
    tenants |= created_tenants
    providers |= created_providers
    grants = re.findall(r"tandem grant ([\w-]+) ([\w-]+)", doc)
    assert grants
    for tenant, provider in grants:
        assert tenant in tenants and provider in providers, (tenant, provider)
    for tenant in re.findall(r"--tenant ([\w-]+)", doc):
        assert tenant in tenants, tenant
