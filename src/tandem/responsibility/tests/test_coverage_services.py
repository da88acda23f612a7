"""Coverage edits through the services: each is a new matrix version, audited with a diff
(an edit that changes nothing writes nothing), and keeps to its own tenant's calendars."""

from __future__ import annotations

from typing import Any

import pytest
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.errors import InvalidInput
from tandem.core.principal import Principal
from tandem.core.scoping import principal_scope, system_context
from tandem.responsibility import services as matrix_services
from tandem.responsibility.models import Coverage, MatrixVersion

pytestmark = pytest.mark.django_db


def _as(world: Any, persona: str) -> Principal:
    return resolve_principal(user_of(world, persona))


def _get(model: Any, pk: int) -> Any:
    with system_context("test: load a row"):
        return model.objects.select_related("tenant").get(pk=pk)


def _audits(action: str) -> list[AuditEntry]:
    with system_context("test: audit entries"):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_coverage_edits_are_versioned_in_the_matrix(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    coverage = _get(Coverage, world["coverage"])
    with system_context("test"):
        version = MatrixVersion.objects.filter(tenant_id=world["tenant"]).count()
    with principal_scope(owner):
        matrix_services.update_coverage(
            actor=owner,
            coverage=coverage,
            service_area_id=world["service_area"],
            max_priority=3,
        )
    with system_context("test"):
        latest = MatrixVersion.objects.filter(tenant_id=world["tenant"]).first()
    assert latest is not None and latest.number == version + 1
    entry = next(c for c in latest.snapshot["coverage"] if c["id"] == world["coverage"])
    assert (entry["service_area_id"], entry["max_priority"]) == (world["service_area"], 3)

    with principal_scope(owner):
        matrix_services.update_coverage(actor=owner, coverage=_get(Coverage, world["coverage"]))
        matrix_services.remove_coverage(actor=owner, coverage=_get(Coverage, world["coverage"]))
    with system_context("test"):
        latest = MatrixVersion.objects.filter(tenant_id=world["tenant"]).first()
        assert not Coverage.objects.filter(pk=world["coverage"]).exists()
    assert latest is not None and latest.number == version + 2  # the empty edit wrote nothing
    assert world["coverage"] not in [c["id"] for c in latest.snapshot["coverage"]]
    assert len(_audits("servicedesk.change_coverage")) == 1
    assert len(_audits("servicedesk.remove_coverage")) == 1


def test_coverage_keeps_to_its_own_tenant(world) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    with principal_scope(owner), pytest.raises(InvalidInput, match="Not found in this tenant"):
        matrix_services.update_coverage(
            actor=owner,
            coverage=_get(Coverage, world["coverage"]),
            calendar_id=world["other_calendar"],
        )
