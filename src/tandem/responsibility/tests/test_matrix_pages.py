"""The responsibility matrix page: rows, coverage and findings for the owner, read-only for
technicians, hidden from requesters, narrowed for a provider.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.core.scoping import system_context
from tandem.responsibility.models import Coverage

pytestmark = pytest.mark.django_db


def _url(name: str, *args: int) -> str:
    return reverse(f"responsibility:{name}", args=args)


def _coverage(pk: int) -> Coverage:
    with system_context("test: load a coverage entry"):
        return Coverage.objects.get(pk=pk)


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()  # type: ignore[no-any-return]


# --- The responsibility matrix ------------------------------------------------------------------


def test_matrix_lists_rows_coverage_and_findings_for_the_owner(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("matrix", world["tenant"])

    page = _text(client.get(url))
    assert "Server patching" in page
    assert "Office hours" in page and "Nights and weekends" in page  # coverage
    assert "Backup: no responsible party" in page  # a gap
    assert "Add a row" in page

    overlap = {
        "service_area_id": world["service_area"],
        "responsible_id": world["party"],
        "accountable_id": world["internal_party"],
    }
    page = _text(client.post(_url("matrix-row-create", world["tenant"]), overlap, follow=True))
    assert "Server patching: Northwind MSP is now responsible." in page
    assert "Server patching: two responsible parties, Acme Corp IT and Northwind MSP" in page

    rejected = client.post(
        _url("matrix-row-create", world["tenant"]),
        {**overlap, "service_area_id": world["service_area_out_of_scope"]},
    )
    assert rejected.status_code == 422
    assert "engagement does not cover Identity" in _text(rejected)

    remove = _url("matrix-row-remove", world["tenant"], world["matrix_row"])
    page = _text(client.post(remove, follow=True))
    assert "is removed" in page
    assert "two responsible parties" not in page


def test_matrix_is_read_only_for_technicians_and_hidden_from_requesters(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = _url("matrix", world["tenant"])
    page = _text(as_persona("internal_tech").get(url))
    assert "Server patching" in page
    assert "Add a row" not in page and "Remove" not in page
    remove = _url("matrix-row-remove", world["tenant"], world["matrix_row"])
    assert as_persona("internal_tech").post(remove).status_code == 404
    assert as_persona("requester").get(url).status_code == 404
    assert as_persona("other_tenant_owner").get(url).status_code == 404
    other_row = _url("matrix-row-remove", world["other_tenant"], world["matrix_row"])
    assert as_persona("other_tenant_owner").post(other_row).status_code == 404


def test_a_provider_sees_the_matrix_of_its_own_service_areas(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("second_provider_tech").get(_url("matrix", world["tenant"])))

    assert "Security monitoring: no responsible party" in page
    assert "Backup: no responsible party" not in page  # not Sentinel's area
    assert "No rows yet" in page  # the server patching row is outside its scope


# --- Coverage -------------------------------------------------------------------------------------


def test_coverage_is_edited_and_removed_from_the_matrix_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    matrix = _text(client.get(_url("matrix", world["tenant"])))
    edit = _url("coverage-edit", world["tenant"], world["coverage"])
    remove = _url("coverage-remove", world["tenant"], world["coverage"])
    assert f'href="{edit}"' in matrix and f'action="{remove}"' in matrix
    assert _url("coverage-create", world["tenant"]) in matrix

    saved = client.post(
        edit,
        {"calendar_id": world["nights_calendar"], "service_area_id": "", "max_priority": "3"},
        follow=True,
    )
    assert "Coverage of Acme Corp IT is saved." in _text(saved)
    entry = _coverage(world["coverage"])
    assert (entry.calendar_id, entry.max_priority) == (world["nights_calendar"], 3)

    removed = client.post(remove, follow=True)
    assert "The coverage of Acme Corp IT on “Nights and weekends” is removed." in _text(removed)
    with system_context("test"):
        assert not Coverage.objects.filter(pk=world["coverage"]).exists()
    # Technicians read the matrix without the coverage buttons, and cannot post them.
    tech = as_persona("internal_tech")
    assert edit not in _text(tech.get(_url("matrix", world["tenant"])))
    assert tech.post(_url("coverage-remove", world["tenant"], world["coverage"])).status_code == 404
