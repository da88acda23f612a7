"""The findings CSV (page link and API): the rows the reader sees under the list's filters
(status, severity, device, CVE), streamed for large sets, spreadsheet-safe, a bad filter
refused with the reason; a provider's export lacks the devices outside its scope."""

from __future__ import annotations

import csv
import io

from django.test import Client
from django.utils import timezone
from tests.personas import World, login_client

from tandem.assets.models import Device
from tandem.core.scoping import system_context
from tandem.vulnerabilities.models import Finding
from tandem.vulnerabilities.tests.factories import AdvisoryFactory, FindingFactory


def _rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content[:300]
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    return {int(row["finding id"]) for row in _rows(response)}


def _client(world: World, persona: str) -> Client:
    return login_client(Client(), world, persona)


def test_the_api_exports_what_the_list_filters_and_the_reader_sees(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        hq = Device.objects.get(pk=world["device"])
        regress = FindingFactory(
            device=hq,
            advisory=AdvisoryFactory(cve_ids=["CVE-2024-6387", "CVE-2024-6409"]),
            package="openssh",
            severity="critical",
            fixed_version="",
            binaries='=HYPERLINK("http://evil")',
        )
        longer = FindingFactory(
            device=hq, advisory=AdvisoryFactory(cve_ids=["CVE-2024-63870"]), package="zlib"
        )
    api = f"/api/v1/vulnerabilities/tenants/{world['tenant']}/findings.csv"
    owner = _client(world, "owner")
    everything = _ids(owner.get(api))
    acme = {world["finding"], world["finding_out_of_scope"], world["accepted_finding"]}
    assert acme <= everything
    assert regress.pk in everything and world["other_finding"] not in everything

    assert _ids(owner.get(api + "?status=risk_accepted")) == {world["accepted_finding"]}
    assert _ids(owner.get(api + "?severity=critical")) == {regress.pk}
    # One CVE id, exactly (not a longer id that starts the same), in any case.
    assert _ids(owner.get(api + "?cve=cve-2024-6387")) == {regress.pk}
    assert _ids(owner.get(api + "?cve=CVE-2024-63870")) == {longer.pk}
    assert _ids(owner.get(api + f"?device_id={world['device_out_of_scope']}")) == {
        world["finding_out_of_scope"]
    }
    [row] = _rows(owner.get(api + "?cve=CVE-2024-6387"))
    assert row["severity"] == "Critical" and row["fixed version"] == "unfixed"
    assert row["CVEs"] == "CVE-2024-6387 CVE-2024-6409"
    assert row["installed binaries"].startswith("'=")  # no formula in a spreadsheet

    bad = owner.get(api + "?cve=openssl")
    assert bad.status_code == 422 and "CVE id" in bad.content.decode()

    # Northwind serves HQ only: the branch device's finding is not in its file.
    northwind = _ids(_client(world, "provider_tech").get(api))
    assert world["finding"] in northwind and world["finding_out_of_scope"] not in northwind
    # Another tenant's reader finds no such tenant.
    assert _client(world, "other_tenant_owner").get(api).status_code == 404


def test_the_findings_page_links_its_filters_to_the_csv(world) -> None:  # type: ignore[no-untyped-def]
    owner = _client(world, "owner")
    base = f"/tenants/{world['tenant']}/vulnerabilities/"
    page = owner.get(base + "findings/?severity=high&status=all").content.decode()
    assert f'href="{base}findings.csv?status=all&amp;severity=high&amp;' in page
    rows = _rows(owner.get(base + "findings.csv?status=all&severity=high"))
    assert rows and {row["severity"] for row in rows} == {"High"}
    refused = owner.get(base + "findings.csv?severity=dreadful")
    assert refused.status_code == 422 and "one of" in refused.content.decode()


def test_a_large_export_streams_every_row(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        hq = Device.objects.get(pk=world["device"])
        seen = timezone.now()
        Finding.objects.bulk_create(
            [
                Finding(
                    tenant_id=hq.tenant_id,
                    device=hq,
                    advisory_ref=f"DEBIAN-CVE-2031-{n}",
                    source="debian",
                    cve_ids=[f"CVE-2031-{n}"],
                    package=f"pkg{n}",
                    installed_version="1.0-1",
                    fixed_version="1.0-2",
                    severity="medium",
                    first_seen=seen,
                    last_seen=seen,
                )
                for n in range(10_000, 15_000)
            ]
        )
    response = _client(world, "owner").get(
        f"/api/v1/vulnerabilities/tenants/{world['tenant']}/findings.csv?severity=medium"
    )
    chunks = list(response.streaming_content)
    # Streamed line by line, not built whole: one chunk per row (and the header).
    assert len(chunks) == 5001
    assert len(_rows_of(chunks)) == 5000


def _rows_of(chunks: list[bytes]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
