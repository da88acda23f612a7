"""Files on a ticket (in tiers) and the links between tickets: merge, parent and child, tags,
watchers.

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
from tandem.servicedesk.tickets.models import Attachment, Ticket, TicketEvent

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
    page = reverse("servicedesk:attachment-download", args=[world["attachment"]])
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
    page = owner.get(reverse("servicedesk:attachment-download", args=[world["attachment"]]))
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
        page = reverse("servicedesk:attachment-download", args=[world["attachment"]])
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
    url = reverse("servicedesk:ticket-attach", args=[world["ticket"]])
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


def _clock_states(ticket: Ticket) -> set[str]:
    return {clock["state"] for clocks in ticket.sla_state.values() for clock in clocks.values()}


def test_a_merged_ticket_stops_its_clocks(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    """Merging closes a ticket: its clocks end there (met, or breached if already late)
    instead of running on and counting as breaches later."""
    assert "running" in _clock_states(_ticket(world["ticket"]))
    response = _post(
        as_persona("owner"),
        f"/tickets/{world['ticket']}/merge",
        {"into_id": world["sentinel_ticket"]},
    )
    assert response.status_code == 200, response.content
    assert _clock_states(_ticket(world["ticket"])) <= {"met", "breached"}


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


# --- The ticket page's forms: merge, parent, tags, watching ------------------------------------
# Other tickets are named by their number in the tenant, as people say them.


def _page(client, ticket_id: int) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("servicedesk:ticket", args=[ticket_id]))
    assert response.status_code == 200
    return response.content.decode()  # type: ignore[no-any-return]


def _form_post(client, name: str, ticket_id: int, data: dict, **kwargs):  # type: ignore[no-untyped-def,type-arg]
    return client.post(reverse(f"servicedesk:{name}", args=[ticket_id]), data, **kwargs)


def _globex_only_number(world) -> int:  # type: ignore[no-untyped-def]
    """A ticket number that Globex has and Acme has not (numbers are per tenant)."""
    from django.db.models import Max
    from tests.personas import user_of

    from tandem.core.principal import system_principal
    from tandem.servicedesk.tickets import services as ticket_services
    from tandem.tenancy.models import Tenant

    with system_context("test: more Globex tickets"):
        acme_max = Ticket.objects.filter(tenant_id=world["tenant"]).aggregate(n=Max("number"))["n"]
        globex = Tenant.objects.get(pk=world["other_tenant"])
        while True:
            created = ticket_services.create_ticket(
                actor=system_principal("test"),
                tenant=globex,
                requester=user_of(world, "other_tenant_owner"),
                subject="Globex conveyor stopped",
                service_area_id=world["other_service_area"],
            )
            if created.number > acme_max:
                return int(created.number)


def test_merging_on_the_page_asks_to_confirm_with_both_subjects_first(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    source, target = _ticket(world["ticket"]), _ticket(world["sentinel_ticket"])
    assert 'id="merge-form"' in _page(owner, source.pk)
    audits = _audits()

    preview = _form_post(owner, "ticket-merge", source.pk, {"into": target.number})
    assert preview.status_code == 200
    text = preview.content.decode()
    assert f"Merge #{source.number} into #{target.number}?" in text
    assert "Acme file server is slow" in text and "Acme suspicious sign-ins" in text
    assert 'id="merge-confirm-form"' in text
    assert _ticket(source.pk).merged_into_id is None  # nothing merged before the confirmation
    assert _audits() == audits

    done = _form_post(
        owner, "ticket-merge", source.pk, {"into": target.number, "confirm": "on"}, follow=True
    )
    text = done.content.decode()
    assert f"#{source.number} is merged into #{target.number} and closed." in text
    assert "This ticket is merged into" in text
    target_url = reverse("servicedesk:ticket", args=[target.pk])
    assert f'<a href="{target_url}">#{target.number} Acme suspicious sign-ins</a>' in text
    assert 'id="merge-form"' not in text  # a merged ticket is not merged again
    assert _ticket(source.pk).merged_into_id == target.pk
    assert _ticket(source.pk).status == "closed"
    assert _audits() == audits + 1

    # The ticket it went into lists it, with a link back.
    source_url = reverse("servicedesk:ticket", args=[source.pk])
    assert f'<a href="{source_url}">#{source.number} Acme file server is slow</a>' in _page(
        owner, target.pk
    )


def test_a_bad_merge_number_is_a_form_error_and_changes_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    globex_number = _globex_only_number(world)
    owner = as_persona("owner")
    source = _ticket(world["ticket"])
    audits = _audits()
    for number, message in (
        (99999, "There is no ticket #99999 in Acme Corp."),
        # Numbers are per tenant: Globex's number means nothing in Acme.
        (globex_number, f"There is no ticket #{globex_number} in Acme Corp."),
        (source.number, "A ticket cannot be merged into itself."),
    ):
        for confirm in ("", "on"):
            response = _form_post(
                owner, "ticket-merge", source.pk, {"into": number, "confirm": confirm}
            )
            assert response.status_code == 422, (number, confirm)
            text = response.content.decode()
            assert message in text, (number, confirm)
            assert 'id="merge-confirm-form"' not in text
    empty = _form_post(owner, "ticket-merge", source.pk, {"into": ""})
    assert empty.status_code == 422
    assert "This field is required." in empty.content.decode()
    assert _ticket(source.pk).merged_into_id is None
    assert _ticket(source.pk).status != "closed"
    assert _audits() == audits


def test_merging_into_an_already_merged_ticket_is_refused_on_the_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    source, target = _ticket(world["ticket"]), _ticket(world["sentinel_ticket"])
    merged = _post(owner, f"/tickets/{source.pk}/merge", {"into_id": target.pk})
    assert merged.status_code == 200
    # The other way round now: the target of the merge is itself merged.
    response = _form_post(owner, "ticket-merge", target.pk, {"into": source.number})
    assert response.status_code == 409
    assert f"#{source.number} is itself merged into another ticket." in response.content.decode()
    assert _ticket(target.pk).merged_into_id is None


def test_a_ticket_out_of_sight_is_unknown_to_the_merge_form(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    from tandem.core.principal import system_principal
    from tandem.servicedesk.tickets import services as ticket_services
    from tandem.tenancy.models import Party

    # Northwind holds the requester's ticket now, so it may work it; it does not see the
    # ticket Sentinel holds (outside its engagement).
    with system_context("test: hand the ticket to Northwind"):
        ticket_services.handoff_ticket(
            actor=system_principal("test"),
            ticket=Ticket.objects.get(pk=world["ticket"]),
            to_party=Party.objects.get(pk=world["party"]),
            reason="Night shift",
        )
    tech = as_persona("provider_tech")
    source, hidden = _ticket(world["ticket"]), _ticket(world["sentinel_ticket"])
    assert 'id="merge-form"' in _page(tech, source.pk)
    response = _form_post(tech, "ticket-merge", source.pk, {"into": hidden.number})
    assert response.status_code == 422
    text = response.content.decode()
    assert f"There is no ticket #{hidden.number} in Acme Corp." in text
    assert "Acme suspicious sign-ins" not in text
    parent = _form_post(tech, "ticket-parent", source.pk, {"parent": hidden.number})
    assert parent.status_code == 422
    assert f"There is no ticket #{hidden.number} in Acme Corp." in parent.content.decode()
    assert _ticket(source.pk).merged_into_id is None
    assert _ticket(source.pk).parent_id is None


def test_people_who_may_not_change_the_ticket_get_no_merge_parent_or_tags_forms(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    # Northwind sees the ticket (its scope) but Acme IT holds it.
    tech = as_persona("provider_tech")
    text = _page(tech, world["ticket"])
    for form in ("merge-form", "parent-form", "tags-form"):
        assert f'id="{form}"' not in text
    assert 'id="watch-form"' in text  # watching is reading
    for name, data in (
        ("ticket-merge", {"into": _ticket(world["sentinel_ticket"]).number}),
        ("ticket-parent", {"parent": ""}),
        ("ticket-tags", {"tags": "x"}),
    ):
        assert _form_post(tech, name, world["ticket"], data).status_code in (403, 404), name
    assert _ticket(world["ticket"]).tags == []
    requester = as_persona("requester")
    assert _form_post(requester, "ticket-tags", world["ticket"], {"tags": "x"}).status_code == 404


def test_the_parent_is_set_by_number_and_the_parent_lists_its_children_with_status(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    parent, child = _ticket(world["ticket"]), _ticket(world["sentinel_ticket"])
    done = _form_post(owner, "ticket-parent", child.pk, {"parent": parent.number}, follow=True)
    text = done.content.decode()
    assert f"#{child.number} is now a child of #{parent.number}." in text
    parent_url = reverse("servicedesk:ticket", args=[parent.pk])
    assert f'<a href="{parent_url}">#{parent.number} Acme file server is slow</a>' in text
    assert _ticket(child.pk).parent_id == parent.pk

    listed = _page(owner, parent.pk)
    children = listed[listed.index('id="children"') :]
    children = children[: children.index("</table>")]
    assert "Acme suspicious sign-ins" in children
    assert 'class="badge badge-' in children  # with its status

    cleared = _form_post(owner, "ticket-parent", child.pk, {"parent": ""}, follow=True)
    assert f"#{child.number} has no parent now." in cleared.content.decode()
    assert _ticket(child.pk).parent_id is None


def test_a_bad_parent_is_a_form_error_and_changes_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    globex_number = _globex_only_number(world)
    owner = as_persona("owner")
    parent, child = _ticket(world["ticket"]), _ticket(world["sentinel_ticket"])
    assert (
        _form_post(owner, "ticket-parent", child.pk, {"parent": parent.number}).status_code == 302
    )
    audits = _audits()
    for ticket, number, message in (
        (parent, child.number, "That would make a cycle of tickets."),
        (parent, parent.number, "A ticket cannot be its own parent."),
        (parent, 99999, "There is no ticket #99999 in Acme Corp."),
        (parent, globex_number, f"There is no ticket #{globex_number} in Acme Corp."),
    ):
        response = _form_post(owner, "ticket-parent", ticket.pk, {"parent": number})
        assert response.status_code == 422, number
        assert message in response.content.decode(), number
    same = _form_post(owner, "ticket-parent", child.pk, {"parent": parent.number})
    assert same.status_code == 409
    assert "The ticket already has this parent." in same.content.decode()
    assert _ticket(parent.pk).parent_id is None
    assert _ticket(child.pk).parent_id == parent.pk
    assert _audits() == audits


def test_tags_are_edited_as_one_line_on_the_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    ticket_id = world["ticket"]
    done = _form_post(owner, "ticket-tags", ticket_id, {"tags": " Disk, VIP ,disk,, "}, follow=True)
    text = done.content.decode()
    assert "Tags: disk, vip." in text
    assert '<span class="badge badge-muted">disk</span>' in text
    assert 'value="disk, vip"' in text  # the form shows them for the next edit
    assert _ticket(ticket_id).tags == ["disk", "vip"]

    same = _form_post(owner, "ticket-tags", ticket_id, {"tags": "vip, disk"})
    assert same.status_code == 409
    assert "The ticket already has these tags." in same.content.decode()
    too_many = _form_post(
        owner, "ticket-tags", ticket_id, {"tags": ",".join(f"t{i}" for i in range(21))}
    )
    assert too_many.status_code == 422
    assert "At most 20 tags." in too_many.content.decode()
    assert _ticket(ticket_id).tags == ["disk", "vip"]

    cleared = _form_post(owner, "ticket-tags", ticket_id, {"tags": ""}, follow=True)
    assert "The ticket has no tags now." in cleared.content.decode()
    assert _ticket(ticket_id).tags == []


def test_watchers_are_listed_and_anyone_who_sees_the_ticket_watches_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    tech = as_persona("provider_tech")  # sees the ticket, may not work it
    ticket_id = world["ticket"]
    text = _page(tech, ticket_id)
    watchers = text[text.index('id="watchers"') :]
    assert "Requester" in watchers  # the requester follows what they opened
    assert "Provider Tech" not in watchers
    assert ">Watch</button>" in watchers

    done = _form_post(tech, "ticket-watch", ticket_id, {}, follow=True).content.decode()
    assert "You watch this ticket now." in done
    watchers = done[done.index('id="watchers"') :]
    assert 'Provider Tech <span class="muted">(you)</span>' in watchers
    assert ">Stop watching</button>" in watchers

    again = _form_post(tech, "ticket-watch", ticket_id, {})
    assert again.status_code == 422
    assert "You already watch this ticket." in again.content.decode()
    assert "ticket_id:" not in again.content.decode()

    stopped = _form_post(tech, "ticket-unwatch", ticket_id, {}, follow=True).content.decode()
    assert "You no longer watch this ticket." in stopped
    with system_context("test: watchers"):
        assert not _ticket(ticket_id).watchers.filter(pk=world["user:provider_tech"]).exists()

    outsider = as_persona("second_provider_tech")
    assert _form_post(outsider, "ticket-watch", ticket_id, {}).status_code == 404


# --- The requester portal: files --------------------------------------------------------------


def _portal(client, ticket_id: int) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("servicedesk:portal-ticket", args=[ticket_id]))
    assert response.status_code == 200
    return response.content.decode()  # type: ignore[no-any-return]


def _comments(ticket_id: int) -> int:
    from tandem.servicedesk.tickets.models import Comment

    with system_context("test: count notes"):
        return Comment.objects.filter(ticket_id=ticket_id).count()


def test_the_portal_lists_the_public_files_only_with_download_links(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    public = _upload(
        owner, world["ticket"], "howto.pdf", b"%PDF-1.4 steps", "public", "application/pdf"
    )
    assert public.status_code == 201, public.content
    public_id = public.json()["id"]

    requester = as_persona("requester")
    text = _portal(requester, world["ticket"])
    download = reverse("servicedesk:attachment-download", args=[public_id])
    assert f'<a href="{download}" download>howto.pdf</a>' in text
    assert "from IT" in text
    assert "server-log.txt" not in text  # the world's IT-shared file
    served = requester.get(download)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b"%PDF-1.4 steps"
    # The requester's view of the IT ticket page lists the same files.
    same = _page(requester, world["ticket"])
    assert f'<a href="{download}" download>howto.pdf</a>' in same
    assert "server-log.txt" not in same


def test_the_requester_attaches_a_file_to_a_reply(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    ticket_id = world["ticket"]
    form = _portal(requester, ticket_id)
    assert 'enctype="multipart/form-data"' in form and 'name="file"' in form
    response = requester.post(
        reverse("servicedesk:portal-reply", args=[ticket_id]),
        {
            "body": "Here is what I see.",
            "file": SimpleUploadedFile("screen.png", b"\x89PNG screen", "image/png"),
        },
        follow=True,
    )
    text = response.content.decode()
    assert "Reply sent." in text
    assert "Here is what I see." in text
    assert "screen.png" in text and "from you" in text
    with system_context("test: the reply's file"):
        file = Attachment.objects.get(ticket_id=ticket_id, filename="screen.png")
        assert file.visibility == "public"
        assert file.comment is not None and file.comment.body == "Here is what I see."

    # IT sees it on the ticket page, in the public tier.
    assert "screen.png" in _page(as_persona("internal_tech"), ticket_id)


def test_a_refused_file_sends_no_reply_and_says_why(as_persona, world, settings) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    ticket_id = world["ticket"]
    url = reverse("servicedesk:portal-reply", args=[ticket_id])
    notes, audits = _comments(ticket_id), _audits()
    with system_context("test: count files"):
        files = Attachment.objects.count()

    program = requester.post(
        url, {"body": "Run this", "file": SimpleUploadedFile("fix.exe", b"MZ\x90\x00", "x/y")}
    )
    assert program.status_code == 422
    text = program.content.decode()
    assert "fix.exe: executable files and scripts are not accepted" in text
    assert "Run this" in text  # the reply is kept in the form to send again

    settings.MAIL_MAX_ATTACHMENT_BYTES = 10
    big = requester.post(
        url, {"body": "Big one", "file": SimpleUploadedFile("big.txt", b"x" * 11, "text/plain")}
    )
    assert big.status_code == 422
    assert "big.txt: larger than" in big.content.decode()

    assert _comments(ticket_id) == notes
    assert _audits() == audits
    with system_context("test: count files"):
        assert Attachment.objects.count() == files
