"""A provider reads the responsibility matrix as far as its engagement reaches, through the
page and the API alike, and never learns which other providers the tenant engages.

The world (tests/personas.py, tests/desk/setup.py): Northwind is engaged at Acme for server
patching and backup at the HQ site; Sentinel for security monitoring. Here Acme adds rows
outside Northwind's reach (identity; server patching at the Branch site), a row in
Northwind's backup area that informs Sentinel, a row Sentinel is responsible for, and
Sentinel's coverage.
"""

from __future__ import annotations

import pytest

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.responsibility import services as matrix_services
from tandem.responsibility.models import ResponsibilityRow
from tandem.tenancy.models import Party, ServiceArea, Tenant

pytestmark = pytest.mark.django_db


def _outside_rows(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    actor = system_principal("test: matrix rows outside Northwind's engagement")
    with system_context("test: matrix rows"):
        acme = Tenant.objects.get(pk=world["tenant"])
        internal = Party.objects.get(pk=world["internal_party"])
        sentinel = Party.objects.get(pk=world["second_party"])
        backup = ServiceArea.objects.get(tenant=acme, key="backup")
        monitoring = ServiceArea.objects.get(tenant=acme, key="security-monitoring")

        def row(**kwargs) -> int:  # type: ignore[no-untyped-def]
            matrix_services.add_matrix_row(actor=actor, tenant=acme, **kwargs)
            return ResponsibilityRow.objects.filter(tenant=acme).latest("pk").pk

        ids = {
            "identity": row(
                service_area_id=world["service_area_out_of_scope"],
                responsible_id=internal.pk,
                accountable_id=internal.pk,
                note="Identity escalation secret",
            ),
            "branch": row(
                service_area_id=world["service_area"],
                site_id=world["site_out_of_scope"],
                responsible_id=internal.pk,
                accountable_id=internal.pk,
                note="Branch patch night",
            ),
            "backup": row(
                service_area_id=backup.pk,
                responsible_id=internal.pk,
                accountable_id=internal.pk,
                informed_ids=[sentinel.pk],
            ),
            "monitoring": row(
                service_area_id=monitoring.pk,
                responsible_id=sentinel.pk,
                accountable_id=internal.pk,
            ),
        }
        matrix_services.add_coverage(
            actor=actor, tenant=acme, party=sentinel, calendar_id=world["office_calendar"]
        )
    return ids


def _party_ids(matrix: dict) -> set[int]:  # type: ignore[type-arg]
    named = {c["party_id"] for c in matrix["coverage"]}
    for row in matrix["rows"]:
        named |= {row["responsible_id"], row["accountable_id"]}
        named |= set(row["consulted_ids"]) | set(row["informed_ids"])
    return named


def test_the_matrix_api_shows_a_provider_what_its_page_shows(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    ids = _outside_rows(world)
    url = f"/api/v1/tenants/{world['tenant']}/matrix"

    owner = as_persona("owner").get(url).json()
    assert {r["id"] for r in owner["rows"]} >= set(ids.values())
    assert world["second_party"] in _party_ids(owner)

    northwind = as_persona("provider_tech").get(url).json()
    rows = {r["id"]: r for r in northwind["rows"]}
    # Its own areas at its own site: the desk's server-patching row and the backup row.
    assert set(rows) == {world["matrix_row"], ids["backup"]}
    assert all("secret" not in r["note"] and "Branch" not in r["note"] for r in rows.values())
    # Sentinel is informed on the backup row, covers office hours, is responsible for
    # monitoring: none of it reaches Northwind.
    assert rows[ids["backup"]]["informed_ids"] == []
    assert _party_ids(northwind) <= {world["internal_party"], world["party"]}
    areas = {world["service_area"], *(r["service_area_id"] for r in rows.values())}
    assert {f["service_area_id"] for f in northwind["findings"]} - {None} <= areas
    assert not any("Sentinel" in f["message"] for f in northwind["findings"])

    page = as_persona("provider_tech").get(f"/tenants/{world['tenant']}/matrix/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Northwind MSP" in text and "Acme Corp IT" in text
    for hidden in ("Sentinel", "Identity escalation secret", "Branch patch night", "Identity"):
        assert hidden not in text, hidden


def test_a_provider_never_sees_another_providers_coverage(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    _outside_rows(world)
    calendars = as_persona("provider_tech").get(f"/tenants/{world['tenant']}/desk/calendars/")
    assert calendars.status_code == 200
    text = calendars.content.decode()
    assert "coverage of Northwind MSP" in text
    assert "Sentinel" not in text

    owner_text = as_persona("owner").get(f"/tenants/{world['tenant']}/desk/calendars/")
    assert "coverage of Sentinel MSSP" in owner_text.content.decode()

    # Sentinel, for its part, sees its own coverage and the tenant's IT, never Northwind.
    sentinel = as_persona("second_provider_tech")
    matrix = sentinel.get(f"/api/v1/tenants/{world['tenant']}/matrix").json()
    assert {c["party_id"] for c in matrix["coverage"]} == {
        world["internal_party"],
        world["second_party"],
    }
    assert world["party"] not in _party_ids(matrix)
    page = sentinel.get(f"/tenants/{world['tenant']}/matrix/").content.decode()
    assert "Northwind" not in page
