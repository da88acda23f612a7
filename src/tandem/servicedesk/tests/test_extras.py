"""Ticket extras: files in tiers, merge, parent and child, tags, watchers.

The world (tests/personas.py) holds ``ticket`` (Acme, from the requester, held by Acme IT,
inside Northwind's scope but not held by it), ``sentinel_ticket`` (Acme, held by Sentinel),
``other_ticket`` (Globex) and ``attachment``, an IT-shared file on ``ticket``.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context
from tandem.servicedesk.models import Attachment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _audits() -> int:
    with system_context("test: count audit entries"):
        return AuditEntry.objects.count()


def _ticket(pk: int) -> Ticket:
    with system_context("test: read a ticket"):
        return Ticket.objects.get(pk=pk)


def _upload(client, ticket_id: int, name: str, body: bytes, visibility: str, kind="text/plain"):  # type: ignore[no-untyped-def]
    return client.post(
        f"{API}/tickets/{ticket_id}/attachments",
        {"file": SimpleUploadedFile(name, body, content_type=kind), "visibility": visibility},
    )


def _post(client, path: str, body: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    import json

    return client.post(API + path, json.dumps(body or {}), content_type="application/json")


# --- Files ------------------------------------------------------------------------------------


def test_it_uploads_a_shared_file_the_requester_never_sees(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    tech = as_persona("internal_tech")
    response = _upload(tech, world["ticket"], "trace.txt", b"stack trace", "shared")
    assert response.status_code == 201, response.content
    shared_id = response.json()["id"]
    assert response.json()["visibility"] == "shared"

    requester = as_persona("requester")
    listed = requester.get(f"{API}/tickets/{world['ticket']}/attachments").json()["items"]
    assert shared_id not in {item["id"] for item in listed}
    assert world["attachment"] not in {item["id"] for item in listed}
    assert requester.get(f"{API}/attachments/{shared_id}/download").status_code == 404
    assert requester.get(f"{API}/attachments/{world['attachment']}/download").status_code == 404
    page = reverse("servicedesk_extras:attachment-download", args=[world["attachment"]])
    assert requester.get(page).status_code == 404


def test_requester_attaches_a_public_file_and_downloads_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    refused = _upload(requester, world["ticket"], "notes.txt", b"hello", "shared")
    assert refused.status_code == 422
    assert "Requesters attach public files" in refused.content.decode()

    created = _upload(
        requester, world["ticket"], "photo.png", b"\x89PNG fake", "public", "image/png"
    )
    assert created.status_code == 201, created.content
    download = requester.get(f"{API}/attachments/{created.json()['id']}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\x89PNG fake"
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert 'filename="photo.png"' in download["Content-Disposition"]


def test_owner_downloads_the_shared_file_on_the_page_and_through_the_api(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    page = owner.get(reverse("servicedesk_extras:attachment-download", args=[world["attachment"]]))
    assert page.status_code == 200
    assert b"".join(page.streaming_content) == b"disk queue length 42\n"
    assert page["Content-Type"] == "text/plain"
    api = owner.get(f"{API}/attachments/{world['attachment']}/download")
    assert api.status_code == 200
    assert api["X-Content-Type-Options"] == "nosniff"


def test_risky_types_are_sent_as_opaque_bytes(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    for name, kind in (("x.svg", "image/svg+xml"), ("x.html", "text/html"), ("x.zip", "zip")):
        created = _upload(owner, world["ticket"], name, b"<svg onload=alert(1)>", "shared", kind)
        assert created.status_code == 201, created.content
        served = owner.get(f"{API}/attachments/{created.json()['id']}/download")
        assert served["Content-Type"] in ("application/octet-stream", "text/plain"), name
        assert served["Content-Type"] != kind or kind == "text/plain"


def test_an_executable_is_refused_with_a_clear_message_and_nothing_kept(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    with system_context("test: count files"):
        before = Attachment.objects.count()
    audits = _audits()
    response = _upload(owner, world["ticket"], "setup.exe", b"MZ\x90\x00", "shared", "x/y")
    assert response.status_code == 422
    assert "setup.exe: executable files and scripts are not accepted" in response.content.decode()
    with system_context("test: count files"):
        assert Attachment.objects.count() == before
    assert _audits() == audits


def test_an_oversized_file_is_refused_before_it_is_read(as_persona, world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAIL_MAX_ATTACHMENT_BYTES = 10
    response = _upload(as_persona("owner"), world["ticket"], "big.txt", b"x" * 11, "shared")
    assert response.status_code == 422
    assert "larger than" in response.content.decode()


def test_a_provider_that_cannot_see_the_ticket_gets_404_for_its_files(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    for persona in ("second_provider_tech", "out_of_scope_tech", "other_tenant_owner"):
        client = as_persona(persona)
        assert client.get(f"{API}/attachments/{world['attachment']}/download").status_code == 404
        page = reverse("servicedesk_extras:attachment-download", args=[world["attachment"]])
        assert client.get(page).status_code == 404
        listed = client.get(f"{API}/tickets/{world['ticket']}/attachments")
        assert listed.status_code in (403, 404)


def test_a_provider_not_involved_does_not_read_the_it_shared_file(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    # Northwind sees the ticket through its scope but never held it: not in the IT-shared tier.
    client = as_persona("provider_tech")
    assert client.get(f"{API}/attachments/{world['attachment']}/download").status_code == 404


def test_files_are_not_served_from_a_media_url(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: a stored file name"):
        name = Attachment.objects.get(pk=world["attachment"]).file.name
    owner = as_persona("owner")
    for prefix in ("/media/", "/", "/static/"):
        assert owner.get(prefix + name).status_code == 404


def test_the_ticket_page_lists_files_and_uploads_through_the_form(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    page = owner.get(reverse("servicedesk:ticket", args=[world["ticket"]])).content.decode()
    assert "server-log.txt" in page
    assert 'id="attach-form"' in page
    url = reverse("servicedesk_extras:ticket-attach", args=[world["ticket"]])
    done = owner.post(
        url,
        {
            "file": SimpleUploadedFile("plan.pdf", b"%PDF-1.4", "application/pdf"),
            "visibility": "public",
        },
        follow=True,
    )
    assert "plan.pdf attached." in done.content.decode()
    refused = owner.post(
        url, {"file": SimpleUploadedFile("run.bat", b"echo", "text/plain")}, follow=True
    )
    assert "executable files and scripts are not accepted" in refused.content.decode()


# --- Merge ------------------------------------------------------------------------------------


def test_owner_merges_a_ticket_into_another_and_both_histories_say_so(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    audits = _audits()
    response = _post(
        owner, f"/tickets/{world['ticket']}/merge", {"into_id": world["sentinel_ticket"]}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    merged = _ticket(world["ticket"])
    assert merged.merged_into_id == world["sentinel_ticket"]
    assert merged.closed_at is not None
    with system_context("test: events"):
        kinds = set(
            TicketEvent.objects.filter(
                ticket_id__in=[world["ticket"], world["sentinel_ticket"]], kind="merged"
            ).values_list("ticket_id", flat=True)
        )
    assert kinds == {world["ticket"], world["sentinel_ticket"]}
    assert _audits() == audits + 1
    again = _post(owner, f"/tickets/{world['ticket']}/merge", {"into_id": world["sentinel_ticket"]})
    assert again.status_code == 409
    into_merged = _post(
        owner, f"/tickets/{world['sentinel_ticket']}/merge", {"into_id": world["ticket"]}
    )
    assert into_merged.status_code == 409


def test_a_merge_into_another_tenants_ticket_or_itself_is_refused(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    audits = _audits()
    other = _post(owner, f"/tickets/{world['ticket']}/merge", {"into_id": world["other_ticket"]})
    assert other.status_code == 422
    itself = _post(owner, f"/tickets/{world['ticket']}/merge", {"into_id": world["ticket"]})
    assert itself.status_code == 422
    assert _ticket(world["ticket"]).merged_into_id is None
    assert _audits() == audits


def test_a_provider_cannot_merge_a_ticket_it_does_not_hold(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    response = _post(client, f"/tickets/{world['ticket']}/merge", {"into_id": world["ticket"]})
    assert response.status_code in (403, 404)


# --- Parent and child ---------------------------------------------------------------------------


def test_parent_and_child_show_on_the_page_and_a_cycle_is_refused(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    child, parent = world["sentinel_ticket"], world["ticket"]
    linked = _post(owner, f"/tickets/{child}/parent", {"parent_id": parent})
    assert linked.status_code == 200, linked.content
    assert _ticket(child).parent_id == parent
    parent_page = owner.get(reverse("servicedesk:ticket", args=[parent])).content.decode()
    assert "Acme suspicious sign-ins" in parent_page  # listed as a child
    with system_context("test: events"):
        assert TicketEvent.objects.filter(ticket_id=child, kind="linked").exists()

    audits = _audits()
    cycle = _post(owner, f"/tickets/{parent}/parent", {"parent_id": child})
    assert cycle.status_code == 422
    assert "cycle" in cycle.content.decode()
    other = _post(owner, f"/tickets/{parent}/parent", {"parent_id": world["other_ticket"]})
    assert other.status_code == 422
    assert _audits() == audits

    cleared = _post(owner, f"/tickets/{child}/parent", {"parent_id": None})
    assert cleared.status_code == 200
    assert _ticket(child).parent_id is None


# --- Tags and watchers --------------------------------------------------------------------------


def test_tags_are_normalised_limited_and_recorded(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    response = _post(owner, f"/tickets/{world['ticket']}/tags", {"tags": [" Disk ", "disk", "VIP"]})
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["disk", "vip"]
    same = _post(owner, f"/tickets/{world['ticket']}/tags", {"tags": ["vip", "DISK"]})
    assert same.status_code == 409
    too_many = _post(
        owner, f"/tickets/{world['ticket']}/tags", {"tags": [f"t{i}" for i in range(21)]}
    )
    assert too_many.status_code == 422
    assert _ticket(world["ticket"]).tags == ["disk", "vip"]
    requester = as_persona("requester")
    assert _post(requester, f"/tickets/{world['ticket']}/tags", {"tags": ["x"]}).status_code == 403


def test_people_who_see_a_ticket_watch_and_unwatch_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    tech = as_persona("provider_tech")
    watched = _post(tech, f"/tickets/{world['ticket']}/watch")
    assert watched.status_code == 200
    assert watched.json() == {"ticket_id": world["ticket"], "watching": True}
    assert _post(tech, f"/tickets/{world['ticket']}/watch").status_code == 422
    assert _post(tech, f"/tickets/{world['ticket']}/unwatch").status_code == 200
    with system_context("test: watchers"):
        assert not _ticket(world["ticket"]).watchers.filter(pk=world["user:provider_tech"]).exists()

    outsider = as_persona("second_provider_tech")
    assert _post(outsider, f"/tickets/{world['ticket']}/watch").status_code == 404
