"""Appending to the audit log. Called by every other app's services, inside their transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from tandem.audit import chain
from tandem.audit.models import AuditChain, AuditEntry
from tandem.core.principal import Principal
from tandem.core.request_context import current_request_id
from tandem.core.scoping import system_context

INSTANCE_CHAIN = "instance"


def chain_key_for(tenant_id: int | None) -> str:
    return f"tenant:{tenant_id}" if tenant_id is not None else INSTANCE_CHAIN


def _plain(value: Any) -> Any:
    """Make a field value JSON-safe and stable across databases."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field whose value changed."""
    changed = {}
    for name in sorted(set(before) | set(after)):
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            changed[name] = [old, new]
    return changed


def row_content(entry: AuditEntry) -> dict[str, Any]:
    """The hashed content of a stored entry, in the form it was hashed."""
    return {
        "chain_key": entry.chain_key,
        "seq": entry.seq,
        "tenant_id": entry.tenant_id,
        "created_at": entry.created_at.astimezone(dt.UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "party_id": entry.party_id,
        "provider_id": entry.provider_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "target_label": entry.target_label,
        "changes": entry.changes,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def record_audit(
    *,
    actor: Principal,
    action: str,
    target: models.Model,
    tenant_id: int | None,
    changes: dict[str, Any] | None = None,
    party_id: int | None = None,
    provider_id: int | None = None,
) -> AuditEntry:
    """Append one entry to the tenant's chain (or the instance chain when ``tenant_id`` is None).

    Must run inside the caller's transaction, so the entry commits or rolls back with the
    write it describes. The chain head row is locked to serialise appends per chain.

    A read-only API token writes nothing: the middleware refuses it every unsafe method, and
    since every write records an entry here, this refusal (which rolls the write back) is the
    backstop for a write reached any other way (decision 0016).
    """
    if actor.token_read_only:
        raise PermissionDenied("a read-only API token writes nothing")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_audit must be called inside the writing transaction")
    key = chain_key_for(tenant_id)
    if party_id is None and tenant_id is not None:
        party_id = actor.party_in(tenant_id)
    if provider_id is None and tenant_id is not None:
        for access in actor.accesses_in(tenant_id):
            if access.party_id == party_id and access.provider_id:
                provider_id = access.provider_id
    with system_context("append to the audit chain"):
        head = AuditChain.objects.select_for_update().filter(key=key).first()
        if head is None:  # the chain's first entry
            AuditChain.objects.get_or_create(
                key=key, defaults={"tenant_id": tenant_id, "last_hash": chain.GENESIS}
            )
            head = AuditChain.objects.select_for_update().get(key=key)
        created_at = timezone.now()
        content = {
            "chain_key": key,
            "seq": head.last_seq + 1,
            "tenant_id": tenant_id,
            "created_at": created_at.astimezone(dt.UTC).isoformat(),
            "actor_id": actor.user_id,
            "actor_label": actor.label[:200],
            "party_id": party_id,
            "provider_id": provider_id,
            "action": action,
            "target_type": target._meta.label,
            "target_id": str(target.pk),
            "target_label": str(target)[:200],
            "changes": _plain(changes or {}),
            "request_id": current_request_id(),
        }
        prev = head.last_hash or chain.GENESIS
        digest = chain.entry_hash(prev, content)
        entry = AuditEntry.objects.create(
            chain_key=key,
            seq=content["seq"],
            tenant_id=tenant_id,
            created_at=created_at,
            actor_id=actor.user_id,
            actor_label=content["actor_label"],
            party_id=party_id,
            provider_id=provider_id,
            action=action,
            target_type=content["target_type"],
            target_id=content["target_id"],
            target_label=content["target_label"],
            changes=content["changes"],
            request_id=content["request_id"],
            prev_hash=prev,
            entry_hash=digest,
        )
        head.last_seq = entry.seq
        head.last_hash = digest
        head.save(update_fields=["last_seq", "last_hash"])
    return entry


def verify_chains(
    *, tenant_id: int | None = None, all_chains: bool = True
) -> list[chain.ChainReport]:
    """Verify one tenant's chain, or every chain. Reads in a named system context."""
    reports = []
    with system_context("verify audit chains"):
        heads = AuditChain.objects.order_by("key")
        if tenant_id is not None:
            heads = heads.filter(tenant_id=tenant_id)
        elif not all_chains:
            heads = heads.none()
        for head in heads:
            rows = (
                row_content(e)
                for e in AuditEntry.objects.filter(chain_key=head.key)
                .order_by("seq")
                .iterator(chunk_size=2000)
            )
            reports.append(
                chain.verify_chain(head.key, rows, head_seq=head.last_seq, head_hash=head.last_hash)
            )
    return reports
