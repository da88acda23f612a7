"""Helpers shared by the alerts tests: detections as the worker would make them, and reads
in a named system context."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tandem.alerts import services
from tandem.alerts.detections import Detection
from tandem.alerts.models import Alert
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.responsibility import services as matrix_services
from tandem.tenancy.models import ServiceArea, Tenant

RULE = "5f1e4b1c-0000-4000-8000-000000000001"


def detection(
    *,
    rule_id: str = RULE,
    host: str = "acme-hq-db01",
    at: dt.datetime | None = None,
    level: str = "high",
    user: str = "bob",
    **extra: Any,
) -> Detection:
    """A failed-logon detection of ``user`` on ``host`` (key field: the user)."""
    at = at or timezone.now()
    event = {
        "Event": {
            "System": {"EventID": 4625, "Computer": host},
            "EventData": {"TargetUserName": user, **extra},
        },
        "_host": host,
        "_time": at.isoformat(),
    }
    return Detection(
        rule_id=rule_id,
        rule_title="Failed logon burst",
        level=level,
        tags=["attack.credential_access", "attack.t1110.001", "attack.g0016", "cve.2024-1"],
        host=host,
        time=at,
        event=event,
        key_fields={"TargetUserName": user},
    )


def record(tenant_id: int, *detections: Detection, now: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    return services.record_detections(tenant_id=tenant_id, detections=list(detections), now=now)


def alerts_of(tenant_id: int, rule_id: str = RULE) -> list[Alert]:
    """The tenant's alerts of the tests' rule (the persona world has alerts of its own)."""
    with system_context("test: the tenant's alerts"):
        return list(Alert.objects.filter(tenant_id=tenant_id, rule_id=rule_id).order_by("id"))


def get(model: Any, pk: int) -> Any:
    with system_context("test: load a row"):
        return model.objects.get(pk=pk)


def security_monitoring_row(world: Any) -> int:
    """Acme's matrix: security monitoring is Acme IT's, which gets every alert ticket; the
    area's id."""
    actor = system_principal("test: the security row")
    with system_context("test: the security row"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        area = ServiceArea.objects.get(tenant=tenant, key="security-monitoring").pk
    matrix_services.add_matrix_row(
        actor=actor,
        tenant=tenant,
        service_area_id=area,
        responsible_id=world["internal_party"],
        accountable_id=world["internal_party"],
    )
    return int(area)
