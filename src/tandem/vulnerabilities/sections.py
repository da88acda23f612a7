"""The vulnerabilities section of the assets app's device page: the device's open and
accepted findings, worst first, with the fix (or "unfixed") and the update that fixes it."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When

from tandem.assets.models import Device
from tandem.assets.queries import DeviceSection
from tandem.core.policies import allowed
from tandem.core.principal import Principal
from tandem.vulnerabilities import queries
from tandem.vulnerabilities.choices import FindingStatus
from tandem.vulnerabilities.permissions import VIEW_VULNERABILITIES

#: Findings listed on the device page (the tenant's findings page has them all).
SECTION_ROWS = 50

_SEVERITY_RANK = Case(
    *[When(severity=s, then=Value(i)) for i, s in enumerate(queries.SEVERITY_ORDER)],
    output_field=IntegerField(),
)


def findings_section(principal: Principal, device: Device) -> DeviceSection | None:
    """The device's findings not yet fixed, for a reader with the permission; nothing
    for others."""
    if not allowed(principal, VIEW_VULNERABILITIES, device.tenant):
        return None
    rows = queries.device_findings(principal, device).exclude(status=FindingStatus.FIXED)
    return DeviceSection(
        key="vulnerabilities",
        title="Vulnerabilities",
        template="vulnerabilities/_device_section.html",
        context={
            "findings": list(
                rows.annotate(rank=_SEVERITY_RANK).order_by("rank", "package", "advisory_ref")[
                    :SECTION_ROWS
                ]
            ),
            "open_count": rows.filter(status=FindingStatus.OPEN).count(),
            "total": rows.count(),
        },
        order=36,
    )
