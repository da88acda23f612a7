"""The ``tandem`` command: run, operate and inspect a Tandem instance.

Each sub-command has ``--help``; failures print one clear line to stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tandem import __version__
from tandem.config.env import SQLITE_FILE, data_dir

EXIT_USAGE = 2
EXIT_FAILED = 1


class CommandError(Exception):
    """A failure to report as one line on stderr (no traceback)."""


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.config.settings")
    import django

    django.setup()


def _actor(reason: str):  # type: ignore[no-untyped-def]
    from tandem.core.principal import system_principal

    return system_principal(f"cli: {reason}")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-12-31") from exc


# --- Sub-commands --------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from tandem.core.maintenance import refresh_query_statistics

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    refresh_query_statistics()
    print("Database is up to date.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tandem.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_present, load_demo

    if args.scale:
        return _demo_scale(args)
    names = ("tenants", "providers", "tickets", "seed")
    given = [f"--{n}" for n in names if getattr(args, n) is not None]
    if given:
        from tandem.core.errors import InvalidInput

        raise InvalidInput(f"{', '.join(given)} only go with --scale")
    if demo_present():
        print("Demo data is already loaded.")
    else:
        load_demo()
        print("Demo data loaded.")
    _print_logins(DEMO_LOGINS, DEMO_PASSWORD)
    return 0


def _demo_scale(args: argparse.Namespace) -> int:
    """``tandem demo --scale``: MSP-sized data for benchmarks (decision 0011)."""
    from tandem.demo import DEMO_PASSWORD
    from tandem.scale import ScaleOptions, generate

    defaults = ScaleOptions()
    options = ScaleOptions(
        tenants=defaults.tenants if args.tenants is None else args.tenants,
        providers=defaults.providers if args.providers is None else args.providers,
        tickets=defaults.tickets if args.tickets is None else args.tickets,
        seed=defaults.seed if args.seed is None else args.seed,
    )
    summary = generate(options, progress=lambda line: print(line, flush=True))
    from tandem.core.maintenance import refresh_query_statistics

    refresh_query_statistics()  # SQLite plans the queues from these (PostgreSQL analysed)
    minutes, seconds = divmod(int(round(summary.seconds)), 60)
    rows = summary.rows
    print(
        f"\nScale data written in {minutes}m{seconds:02d}s ({summary.seconds:.1f} s): "
        f"{summary.tenants} tenants, {summary.providers} providers, {summary.people:,} people, "
        f"{rows.get('tickets', 0):,} tickets ({summary.open_tickets:,} open), "
        f"{rows.get('events', 0):,} events, {rows.get('comments', 0):,} comments, "
        f"{rows.get('time_entries', 0):,} time entries, {rows.get('handoffs', 0):,} handoffs, "
        f"{rows.get('watchers', 0):,} watchers; as of {summary.as_of}."
    )
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in summary.phases.items())
    print(f"Time in this process: {phases}.")
    print(f"\nLogins (password for all: {DEMO_PASSWORD}), for example:")
    for email, who in (
        ("owner@scale-0001.scale.test", "owner of tenant scale-0001"),
        ("it1@scale-0001.scale.test", "internal technician of scale-0001 (it1, it2, ...)"),
        ("user1@scale-0001.scale.test", "requester in scale-0001 (user1, user2, ...)"),
        ("admin@scale-msp-01.scale.test", "admin of provider scale-msp-01"),
        ("tech1@scale-msp-01.scale.test", "technician of scale-msp-01 (tech1, tech2, ...)"),
    ):
        print(f"  {email:<32} {who}")
    return 0


def _print_logins(logins: Sequence[Any], password: str) -> None:
    print(f"\nDemo logins (password for all: {password}):")
    for login in logins:
        print(f"  {login.email:<28} {login.who}")


def cmd_createtenant(args: argparse.Namespace) -> int:
    from tandem.accounts.services import create_tenant_with_owner
    from tandem.core.scoping import system_context

    with system_context("cli createtenant"):
        tenant = create_tenant_with_owner(
            actor=_actor("createtenant"),
            name=args.name,
            slug=args.slug,
            time_zone=args.time_zone,
            country=args.country,
            require_mfa=args.require_mfa,
            owner_email=args.owner,
        )
    print(f"Created tenant {tenant.name} ({tenant.slug}, id {tenant.pk}).")
    if args.owner:
        print(f"Owner: {args.owner}. They set a password through 'Forgot password?'.")
    return 0


def cmd_createprovider(args: argparse.Namespace) -> int:
    from tandem.core.scoping import system_context
    from tandem.tenancy.services import create_provider

    with system_context("cli createprovider"):
        provider = create_provider(
            actor=_actor("createprovider"),
            name=args.name,
            slug=args.slug,
            require_mfa=args.require_mfa,
        )
        if args.admin:
            from tandem.accounts.models import Role
            from tandem.accounts.services import invite_member

            invite_member(
                actor=_actor("createprovider"),
                email=args.admin,
                full_name="",
                role=Role.objects.get(key="provider-admin"),
                provider=provider,
            )
    print(f"Created provider {provider.name} ({provider.slug}, id {provider.pk}).")
    return 0


def cmd_createuser(args: argparse.Namespace) -> int:
    import getpass

    from tandem.accounts.services import create_user

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.operator:
        password = getpass.getpass("Password: ")
    user = create_user(
        actor=_actor("createuser"),
        email=args.email,
        full_name=args.name,
        password=password,
        is_superuser=args.operator,
    )
    print(f"Created user {user.email} (id {user.pk}).")
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import AssetGroup, Provider, ServiceArea, Site, Tenant
    from tandem.tenancy.services import accept_engagement, grant_engagement

    actor = _actor("grant")
    with system_context("cli grant"):
        tenant = Tenant.objects.filter(slug=args.tenant).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {args.tenant!r}")
        provider = Provider.objects.filter(slug=args.provider).first()
        if provider is None:
            raise CommandError(f"no provider with slug {args.provider!r}")

        def ids(model: Any, field: str, names: list[str], what: str) -> list[int]:
            found = dict(
                model.objects.filter(tenant=tenant, **{f"{field}__in": names}).values_list(
                    field, "pk"
                )
            )
            missing = sorted(set(names) - set(found))
            if missing:
                raise CommandError(f"unknown {what} in {tenant.slug}: {', '.join(missing)}")
            return list(found.values())

        engagement = grant_engagement(
            actor=actor,
            tenant=tenant,
            provider=provider,
            name=args.name or f"{provider.name} engagement",
            service_area_ids=ids(ServiceArea, "key", args.area, "service areas"),
            site_ids=ids(Site, "name", args.site or [], "sites"),
            asset_group_ids=ids(AssetGroup, "name", args.asset_group or [], "asset groups"),
            allowed_actions=args.allow or [],
            starts_on=args.starts,
            ends_on=args.ends,
        )
        if args.accept:
            accept_engagement(actor=actor, engagement=engagement)
    print(
        f"Granted engagement {engagement.pk} ({engagement.status}) "
        f"to {provider.name} in {tenant.name}."
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from tandem.audit.services import verify_chains
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Tenant

    tenant_id = None
    if args.tenant:
        with system_context("cli audit verify"):
            tenant = Tenant.objects.filter(slug=args.tenant).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {args.tenant!r}")
        tenant_id = tenant.pk
    reports = verify_chains(tenant_id=tenant_id)
    bad = 0
    for report in reports:
        if report.ok:
            print(f"ok    {report.chain_key}: {report.entries_checked} entries")
        else:
            bad += 1
            print(f"BAD   {report.chain_key}: {report.problem}")
    if args.tenant and not reports:
        print(f"ok    tenant {args.tenant}: no entries yet")
    if bad:
        print(f"{bad} chain(s) failed verification.", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    from tandem.audit.models import AuditEntry
    from tandem.audit.queries import as_json_lines
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Tenant

    with system_context("cli audit export"):
        rows = AuditEntry.objects.order_by("chain_key", "seq")
        if args.tenant:
            tenant = Tenant.objects.filter(slug=args.tenant).first()
            if tenant is None:
                raise CommandError(f"no tenant with slug {args.tenant!r}")
            rows = rows.filter(tenant=tenant)
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        try:
            count = 0
            for line in as_json_lines(rows):
                out.write(line)
                count += 1
        finally:
            if args.output:
                out.close()
    print(f"Exported {count} entries.", file=sys.stderr)
    return 0


def cmd_mail_retry(args: argparse.Namespace) -> int:
    """Process failed (or kept) inbound mail again, once the fault is fixed: one message by
    id, or every failed one. Each is processed now, in this process; the outcome is printed."""
    from tandem.core.errors import Conflict
    from tandem.servicedesk.mail.inbound import (
        failed_message_ids,
        inbound_message_for_operator,
        process_inbound_message,
        retry_inbound_message,
    )

    if (args.id is None) == (not args.all_failed):
        raise CommandError("give one message id, or --all-failed")
    ids = failed_message_ids() if args.all_failed else [args.id]
    actor = _actor("mail-retry")
    problems = 0
    for message_id in ids:
        message = inbound_message_for_operator(message_id)
        if message is None:
            raise CommandError(f"no inbound mail {message_id}")
        try:
            retry_inbound_message(actor=actor, message=message)
        except Conflict as exc:
            raise CommandError(f"inbound mail {message_id}: {exc}") from exc
        # The queued task finds it already processed; a worker is not needed for this.
        done = process_inbound_message(message_id=message_id)
        status = done.status if done is not None else "missing"
        reason = "".join(c if c.isprintable() else "?" for c in (done.reason if done else ""))
        print(f"{message_id}\t{status}" + (f"\t{reason}" if reason else ""))
        problems += status == "failed"
    print(
        f"{len(ids)} message(s) processed again, {problems} failed.",
        file=sys.stderr,
    )
    return 1 if problems else 0


def cmd_mail_unrouted(args: argparse.Namespace) -> int:
    """Mail the listener kept that no tenant's review page shows: sent to a desk address
    with no tenant behind it (a mistyped or retired desk)."""
    from tandem.notifications.queries import unrouted_inbound

    if args.raw is not None:
        found = unrouted_inbound(args.raw)
        if not found:
            raise CommandError(f"no unrouted inbound mail {args.raw}")
        out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
        try:
            out.write(bytes(found[0].raw))
        finally:
            if args.output:
                out.close()
        return 0
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    rows = unrouted_inbound(limit=args.limit)

    def shown(text: str) -> str:
        # Sender, subject and reason come from the mail: no control characters to the
        # operator's terminal.
        return "".join(c if c.isprintable() else "?" for c in text) or "-"

    for message in rows:
        to = shown(", ".join(message.envelope_to))
        sender = shown(message.from_address or message.envelope_from)
        print(f"{message.pk}\t{message.received_at:%Y-%m-%d %H:%M}\t{sender}\t{to}")
        print(f"\tsubject: {shown(message.subject)}\n\t{message.status}: {shown(message.reason)}")
    print(
        f"{len(rows)} unrouted message(s)"
        + (f" (the newest {args.limit}; --limit for more)." if len(rows) == args.limit else ".")
        + (" `tandem mail-unrouted --raw ID` writes one as it arrived (.eml)." if rows else ""),
        file=sys.stderr,
    )
    return 0


def cmd_tenants(args: argparse.Namespace) -> int:
    """Every tenant with the slug other commands take, and the providers it engaged."""
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Engagement, Tenant

    with system_context("cli tenants"):
        tenants = list(Tenant.objects.order_by("slug").values_list("pk", "slug", "name"))
        engaged: dict[int, list[str]] = {}
        for tenant_id, provider_slug, status in Engagement.objects.order_by(
            "provider__slug"
        ).values_list("tenant_id", "provider__slug", "status"):
            engaged.setdefault(tenant_id, []).append(f"{provider_slug} ({status})")
    _print_table(
        ("SLUG", "NAME", "PROVIDERS"),
        [(slug, name, ", ".join(engaged.get(pk, [])) or "-") for pk, slug, name in tenants],
        empty="No tenants yet: `tandem createtenant NAME SLUG` or `tandem demo`.",
    )
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    """Every provider with the slug other commands take, and the tenants that engaged it."""
    from tandem.core.scoping import system_context
    from tandem.tenancy.models import Engagement, Provider

    with system_context("cli providers"):
        providers = list(Provider.objects.order_by("slug").values_list("pk", "slug", "name"))
        engaged: dict[int, list[str]] = {}
        for provider_id, tenant_slug, status in Engagement.objects.order_by(
            "tenant__slug"
        ).values_list("provider_id", "tenant__slug", "status"):
            engaged.setdefault(provider_id, []).append(f"{tenant_slug} ({status})")
    _print_table(
        ("SLUG", "NAME", "ENGAGED BY"),
        [(slug, name, ", ".join(engaged.get(pk, [])) or "-") for pk, slug, name in providers],
        empty="No providers yet: `tandem createprovider NAME SLUG` or `tandem demo`.",
    )
    return 0


def _print_table(head: tuple[str, ...], rows: list[tuple[str, ...]], *, empty: str) -> None:
    """Columns padded to their widest cell; ``empty`` (to stderr) when there is no row."""
    if not rows:
        print(empty, file=sys.stderr)
        return
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head) - 1)]
    for row in [head, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))


def openapi_document() -> str:
    """The API's OpenAPI schema as committed in docs/openapi.json (stable key order)."""
    import json

    from tandem.config.api import api

    return json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    document = openapi_document()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(document)
        print(f"Wrote {args.output}.")
    else:
        sys.stdout.write(document)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from tandem.bench import desk

    if args.scenario != "desk":
        raise CommandError(f"unknown scenario {args.scenario!r}; try: desk")
    if args.processes < 1 or args.tickets < args.processes or args.requests < 1:
        raise CommandError("--processes, --tickets and --requests must be positive")
    try:
        figures = desk.run(
            tickets=args.tickets,
            queue_requests=args.requests,
            recompute=args.recompute,
            processes=args.processes,
            scale=args.scale,
        )
    except LookupError as exc:
        raise CommandError(str(exc)) from exc
    print(desk.report(figures, as_json=args.json))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    if not args.no_schedule:
        # Periodic jobs (config/schedule.py) are claimed here and run as ordinary tasks.
        from tandem.notifications.scheduler import start_scheduler

        start_scheduler()
    call_command("db_worker", interval=args.interval)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from tandem.config.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("accesslog", "-" if args.access_log else None)

        def load(self):  # type: ignore[no-untyped-def]
            return application

    Server().run()
    return 0


def cmd_mail_listen(args: argparse.Namespace) -> int:
    """Receive service-desk mail over SMTP until stopped (Ctrl-C or SIGTERM)."""
    import threading

    from django.conf import settings

    from tandem.servicedesk.mail.inbound import requeue_pending
    from tandem.servicedesk.mail.listener import listener

    controller = listener(host=args.host, port=args.port)
    try:
        controller.start()
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    requeued = requeue_pending()
    domain = settings.MAIL_DOMAIN
    print(
        f"Listening for service-desk mail on {args.host}:{args.port} "
        f"(<tenant>@{domain}, <tenant>+<ticket>@{domain}). Press Ctrl-C to stop.",
        flush=True,
    )
    if requeued:
        print(f"Queued {requeued} message(s) left pending for processing.", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    print("Stopped.")
    return 0


def _follow_site_url(host: str, port: int) -> str:
    """The address ``tandem up`` serves, made the site URL of e-mailed links (in this process
    and, through the environment, in the worker it starts) unless TANDEM_SITE_URL is set: a
    run on another port must not mail links to the default one."""
    from django.conf import settings

    shown = "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host  # noqa: S104 - a name
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"  # an IPv6 address in a URL
    url = f"http://{shown}:{port}/"
    if not os.environ.get("TANDEM_SITE_URL"):
        os.environ["TANDEM_SITE_URL"] = url.rstrip("/")
        settings.SITE_URL = url.rstrip("/")
    return url


def cmd_up(args: argparse.Namespace) -> int:
    """Migrate, load the demo, start a worker and the server; Ctrl-C stops both."""
    from django.conf import settings
    from django.core.management import call_command

    from tandem.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_present, load_demo

    url = _follow_site_url(args.host, args.port)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not args.no_demo and not demo_present():
        load_demo()
    worker = subprocess.Popen([sys.executable, "-m", "tandem.cli", "worker"])  # noqa: S603
    print(f"\nTandem is running at {url}  (database: {settings.DATABASES['default']['NAME']})")
    if not args.no_demo:
        _print_logins(DEMO_LOGINS, DEMO_PASSWORD)
    print("\nPress Ctrl-C to stop.\n", flush=True)
    try:
        args.workers = args.workers or 2
        return cmd_serve(args)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


# --- Parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: co-managed IT in one system the client owns."
    )
    parser.add_argument("--verbose", action="store_true", help="more output")
    parser.add_argument("--version", action="version", version=f"tandem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def server_options(p: argparse.ArgumentParser, workers: int) -> None:
        p.add_argument("--host", default=os.environ.get("TANDEM_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("TANDEM_PORT", "8000")))
        p.add_argument("--workers", type=int, default=workers, help="web processes")
        p.add_argument("--threads", type=int, default=4, help="threads per web process")
        p.add_argument("--access-log", action="store_true", help="log every request")

    p = add("up", cmd_up, "Migrate, load demo data, and run the server and a worker.")
    server_options(p, 2)
    p.add_argument("--no-demo", action="store_true", help="do not load demo data")
    server_options(add("serve", cmd_serve, "Run the web server (gunicorn)."), 2)
    p = add("worker", cmd_worker, "Run a background worker (any number may run).")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument(
        "--no-schedule", action="store_true", help="do not run periodic jobs (config/schedule.py)"
    )
    p = add(
        "mail-listen",
        cmd_mail_listen,
        "Receive service-desk e-mail over SMTP (run a worker to process it).",
    )
    p.add_argument("--host", default=os.environ.get("TANDEM_MAIL_LISTEN_HOST", "127.0.0.1"))
    p.add_argument(
        "--port", type=int, default=int(os.environ.get("TANDEM_MAIL_LISTEN_PORT", "2525"))
    )
    p = add(
        "mail-retry",
        cmd_mail_retry,
        "Process failed inbound e-mail again (by id, or --all-failed).",
    )
    p.add_argument("id", type=int, nargs="?", metavar="ID", help="the inbound mail's id")
    p.add_argument("--all-failed", action="store_true", help="every failed message")
    p = add(
        "mail-unrouted",
        cmd_mail_unrouted,
        "List kept e-mail that matched no tenant's desk, or write one out raw.",
    )
    p.add_argument("--raw", type=int, metavar="ID", help="write this message as it arrived")
    p.add_argument("--limit", type=int, default=100, help="list at most this many (newest)")
    p.add_argument("--output", "-o", metavar="FILE", help="with --raw: file (default stdout)")
    add("migrate", cmd_migrate, "Create or upgrade the database schema.")
    p = add("demo", cmd_demo, "Load demo tenants, providers and people; print the logins.")
    p.add_argument(
        "--scale",
        action="store_true",
        help="generate MSP-sized benchmark data instead (into a database without it)",
    )
    p.add_argument("--tenants", type=int, help="with --scale: tenants (default 500)")
    p.add_argument("--providers", type=int, help="with --scale: providers (default 40)")
    p.add_argument("--tickets", type=int, help="with --scale: tickets (default 1000000)")
    p.add_argument("--seed", type=int, help="with --scale: random seed (default 1)")

    add("tenants", cmd_tenants, "List tenants: slug, name and the providers they engaged.")
    add("providers", cmd_providers, "List providers: slug, name and the tenants engaging them.")

    p = add("createtenant", cmd_createtenant, "Create a tenant (client company).")
    p.add_argument("name")
    p.add_argument("slug")
    p.add_argument("--owner", metavar="EMAIL", help="make this person the tenant owner")
    p.add_argument("--time-zone", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    p.add_argument("--country", default="", help="two-letter country code")
    p.add_argument("--require-mfa", action="store_true", help="enforce a second factor")

    p = add("createprovider", cmd_createprovider, "Create a provider (MSP or MSSP).")
    p.add_argument("name")
    p.add_argument("slug")
    p.add_argument("--admin", metavar="EMAIL", help="make this person the provider's admin")
    p.add_argument("--require-mfa", action="store_true", help="enforce a second factor")

    p = add(
        "createuser", cmd_createuser, "Create a user (use --operator for an instance operator)."
    )
    p.add_argument("email")
    p.add_argument("name")
    p.add_argument("--operator", action="store_true", help="may create tenants and providers")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    p = add("grant", cmd_grant, "Grant a provider an engagement in a tenant.")
    p.add_argument("tenant", help="tenant slug")
    p.add_argument("provider", help="provider slug")
    p.add_argument("--name", help="engagement name")
    p.add_argument(
        "--area",
        action="append",
        required=True,
        metavar="KEY",
        help="service area key (repeat), e.g. server-patching",
    )
    p.add_argument("--site", action="append", metavar="NAME", help="narrow to a site (repeat)")
    p.add_argument(
        "--asset-group", action="append", metavar="NAME", help="narrow to an asset group (repeat)"
    )
    p.add_argument("--allow", action="append", metavar="ACTION", help="allowed action (repeat)")
    p.add_argument("--starts", type=_date, help="start date (default today)")
    p.add_argument("--ends", type=_date, help="end date")
    p.add_argument(
        "--accept", action="store_true", help="accept on the provider's behalf (operator set-up)"
    )

    p = add("openapi", cmd_openapi, "Print or write the OpenAPI schema of the HTTP API.")
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default stdout)")

    p = add("bench", cmd_bench, "Measure a scenario on the configured (scratch) database.")
    p.add_argument("scenario", choices=["desk"], help="what to measure")
    p.add_argument("--tickets", type=int, default=2000, help="tickets to create")
    p.add_argument("--requests", type=int, default=200, help="queue page requests")
    p.add_argument("--recompute", type=int, default=20000, help="synthetic SLA histories")
    p.add_argument(
        "--processes", type=int, default=2, help="processes opening tickets / recomputing"
    )
    p.add_argument(
        "--scale",
        action="store_true",
        help="measure the queues on the `tandem demo --scale` data",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")

    audit = sub.add_parser(
        "audit",
        help="Verify or export the audit log.",
        description="Verify or export the audit log.",
    )
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = audit_sub.add_parser(
        "verify",
        help="Recompute the hash chains; exit 1 on any damage.",
        description="Recompute the hash chains; exit 1 on any damage.",
    )
    p.add_argument("--tenant", metavar="SLUG", help="only this tenant's chain")
    p.set_defaults(func=cmd_audit_verify)
    p = audit_sub.add_parser(
        "export",
        help="Write audit entries as JSON Lines.",
        description="Write audit entries as JSON Lines.",
    )
    p.add_argument("--tenant", metavar="SLUG", help="only this tenant")
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default stdout)")
    p.set_defaults(func=cmd_audit_export)
    return parser


#: Commands that bring their own database (``up``, ``migrate``), need none (``openapi``) or
#: run long-lived against whatever is configured. Every other command works on an existing
#: instance's data and first checks that there is one (``_require_database``).
NO_DATA_NEEDED = frozenset({"up", "migrate", "openapi", "serve", "worker", "mail-listen", "bench"})


def _require_database() -> None:
    """Outside a data directory, say so in one line, before the settings create ``./var``
    and a query fails on a missing table. PostgreSQL (DATABASE_URL) reports for itself, and
    a process that set Django up already (tests, an embedding program) chose its database."""
    from django.apps import apps

    if os.environ.get("DATABASE_URL") or apps.ready:
        return
    folder = data_dir()
    if not (folder / SQLITE_FILE).is_file():
        raise CommandError(
            f"no Tandem database in {folder}: run this where the instance's var/ is, "
            "set TANDEM_DATA_DIR (or DATABASE_URL), or create one with `tandem migrate`"
        )


def _missing_schema(exc: Exception) -> bool:
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in NO_DATA_NEEDED:
        try:
            _require_database()
        except CommandError as exc:
            print(f"tandem: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    _setup()
    from django.core.exceptions import PermissionDenied
    from django.db import DatabaseError

    from tandem.core.errors import Conflict, InvalidInput

    try:
        return int(args.func(args))
    except (CommandError, Conflict, PermissionDenied) as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DatabaseError as exc:
        if not _missing_schema(exc):
            raise
        print(
            "tandem: error: the database has no Tandem tables yet: run `tandem migrate`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except InvalidInput as exc:
        print(f"tandem: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
