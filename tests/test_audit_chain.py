"""The audit chain: every write audited in its transaction, tampering found and named."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from tandem.audit import chain
from tandem.audit.models import AuditChain, AuditEntry
from tandem.cli import main as tandem
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import Tenant
from tandem.tenancy.services import create_site


def _entries(n: int) -> list[dict]:
    rows, prev = [], chain.GENESIS
    for seq in range(1, n + 1):
        content = {
            "chain_key": "tenant:1",
            "seq": seq,
            "tenant_id": 1,
            "created_at": f"2026-01-01T00:00:{seq:02d}+00:00",
            "actor_id": 7,
            "actor_label": "a@b.test",
            "party_id": 3,
            "provider_id": None,
            "action": "tenancy.create_site",
            "target_type": "tenancy.Site",
            "target_id": str(seq),
            "target_label": f"site {seq}",
            "changes": {"name": [None, f"s{seq}"]},
            "request_id": "r",
        }
        digest = chain.entry_hash(prev, content)
        rows.append({**content, "prev_hash": prev, "entry_hash": digest})
        prev = digest
    return rows


def _verify(rows: list[dict], head_seq: int | None = None, head_hash: str | None = None):  # type: ignore[no-untyped-def]
    full = _entries(10)
    return chain.verify_chain(
        "tenant:1",
        rows,
        head_seq=len(full) if head_seq is None else head_seq,
        head_hash=full[-1]["entry_hash"] if head_hash is None else head_hash,
    )


def test_an_intact_chain_verifies() -> None:
    report = _verify(_entries(10))
    assert report.ok and report.entries_checked == 10


@given(
    st.integers(min_value=1, max_value=10), st.sampled_from(["actor_label", "action", "target_id"])
)
def test_any_altered_field_is_named(seq: int, field: str) -> None:
    rows = _entries(10)
    rows[seq - 1][field] = "tampered"
    report = _verify(rows)
    assert not report.ok and report.problem.seq == seq and report.problem.kind == "altered"


@given(st.integers(min_value=1, max_value=9))
def test_a_removed_entry_is_named(seq: int) -> None:
    rows = _entries(10)
    del rows[seq - 1]
    report = _verify(rows)
    assert not report.ok and report.problem.seq == seq and report.problem.kind == "removed"


def test_removing_the_newest_entries_is_caught_by_the_head() -> None:
    report = _verify(_entries(10)[:8])
    assert not report.ok and report.problem.seq == 9 and report.problem.kind == "removed"


def test_reordered_entries_are_caught_at_the_first_moved_one() -> None:
    rows = _entries(10)
    # Swap two rows and renumber them, as someone editing the table would have to.
    rows[3], rows[4] = rows[4], rows[3]
    rows[3]["seq"], rows[4]["seq"] = 4, 5
    report = _verify(rows)
    assert not report.ok and report.problem.seq == 4


def test_a_recomputed_forgery_still_breaks_the_next_link() -> None:
    rows = _entries(10)
    rows[2]["actor_label"] = "forger"
    rows[2]["entry_hash"] = chain.entry_hash(rows[2]["prev_hash"], rows[2])
    report = _verify(rows)
    assert not report.ok and report.problem.seq == 4 and report.problem.kind == "reordered"


def test_a_service_write_is_audited_with_before_and_after(world) -> None:  # type: ignore[no-untyped-def]
    from tandem.tenancy.services import update_site

    actor = system_principal("test")
    with system_context("test"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        site = create_site(actor=actor, tenant=tenant, name="Audit site", address="Old road")
        update_site(actor=actor, site=site, address="New road")
        last = AuditEntry.objects.filter(tenant=tenant).order_by("-seq").first()
    assert last.action == "tenancy.change_site"
    assert last.changes == {"address": ["Old road", "New road"]}
    assert last.actor_label == "system: test"


def test_a_failed_write_leaves_no_audit_entry(world) -> None:  # type: ignore[no-untyped-def]
    from tandem.core.errors import Conflict

    actor = system_principal("test")
    with system_context("test"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        before = AuditEntry.objects.count()
        with pytest.raises(Conflict):
            create_site(actor=actor, tenant=tenant, name="acme hq SITE")  # duplicate, any case
        assert AuditEntry.objects.count() == before


def _tamper(sql: str, params: list) -> None:  # type: ignore[type-arg]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_cli_verify_names_the_first_altered_or_removed_entry(world, capsys) -> None:  # type: ignore[no-untyped-def]
    assert tandem(["audit", "verify", "--tenant", "acme"]) == 0
    assert "ok    tenant:" in capsys.readouterr().out
    with system_context("test"):
        rows = list(AuditEntry.objects.filter(tenant_id=world["tenant"]).order_by("seq"))
    altered, removed = rows[3], rows[6]
    table = AuditEntry._meta.db_table
    _tamper(f"UPDATE {table} SET actor_label = %s WHERE id = %s", ["someone else", altered.pk])
    _tamper(f"DELETE FROM {table} WHERE id = %s", [removed.pk])
    assert tandem(["audit", "verify", "--tenant", "acme"]) == 1
    out = capsys.readouterr().out
    assert f"BAD   tenant:{world['tenant']}: entry #{altered.seq} altered" in out
    # The other tenant's chain is untouched and still verifies.
    assert tandem(["audit", "verify", "--tenant", "globex"]) == 0


def test_cli_verify_catches_a_deleted_newest_entry(world, capsys) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        newest = AuditEntry.objects.filter(tenant_id=world["tenant"]).order_by("-seq").first()
    _tamper(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [newest.pk])
    assert tandem(["audit", "verify"]) == 1
    assert f"entry #{newest.seq} removed" in capsys.readouterr().out


def test_api_verify_reports_damage_to_the_owner(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"/api/v1/tenants/{world['tenant']}/audit/verify"
    assert client.get(url).json()["ok"] is True
    with system_context("test"):
        victim = AuditEntry.objects.filter(tenant_id=world["tenant"]).order_by("seq")[1]
    _tamper(
        f"UPDATE {AuditEntry._meta.db_table} SET changes = %s WHERE id = %s",
        [json.dumps({"forged": [1, 2]}), victim.pk],
    )
    state = client.get(url).json()
    assert state["ok"] is False and state["first_bad_seq"] == victim.seq


def test_export_is_json_lines_that_verify_offline(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get("/api/v1/audit/export")
    lines = [json.loads(x) for x in b"".join(response.streaming_content).decode().splitlines()]
    assert lines and all(e["tenant_id"] == world["tenant"] for e in lines)
    with system_context("test"):
        head = AuditChain.objects.get(tenant_id=world["tenant"])
    report = chain.verify_chain(head.key, lines, head_seq=head.last_seq, head_hash=head.last_hash)
    assert report.ok
