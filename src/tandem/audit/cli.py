"""``tandem audit``: verify the hash chains, export the entries."""

from __future__ import annotations

import argparse
import sys

from tandem.core.cli import EXIT_FAILED, CommandError, Commands


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


def register(commands: Commands) -> None:
    audit = commands.group("audit", "Verify or export the audit log.", dest="audit_command")
    p = audit.add("verify", cmd_audit_verify, "Recompute the hash chains; exit 1 on any damage.")
    p.add_argument("--tenant", metavar="SLUG", help="only this tenant's chain")
    p = audit.add("export", cmd_audit_export, "Write audit entries as JSON Lines.")
    p.add_argument("--tenant", metavar="SLUG", help="only this tenant")
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default stdout)")
