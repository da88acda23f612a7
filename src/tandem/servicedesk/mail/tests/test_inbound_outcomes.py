"""Inbound mail ends somewhere a person can see it: a ticket, a note, kept with its reason,
or failed with its error and retryable. Nothing accepted stays pending or vanishes.

Real messages over real SMTP (Tandem's listener on 127.0.0.1, tests/desk/mail_support.py).
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import pytest
from tests.desk.mail_support import DESK, DOMAIN, REQUESTER, make_mail

from tandem.accounts.models import Membership, Role
from tandem.accounts.services import add_membership, create_user
from tandem.audit.models import AuditEntry
from tandem.cli import main
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.mail import inbound as mail_inbound
from tandem.servicedesk.mail.models import InboundMessage
from tandem.servicedesk.tickets.models import Attachment, Comment, Ticket
from tandem.tenancy.models import Tenant


def _tickets(world) -> list[Ticket]:  # type: ignore[no-untyped-def]
    with system_context("test: acme's tickets"):
        return list(Ticket.objects.filter(tenant_id=world["tenant"]).order_by("number"))


def _comments(ticket_id: int) -> list[Comment]:
    with system_context("test: notes"):
        return list(Comment.objects.filter(ticket_id=ticket_id).order_by("id"))


def _reload(message: InboundMessage) -> InboundMessage:
    with system_context("test: the kept message"):
        return InboundMessage.objects.get(pk=message.pk)


def _add_requester(world, email: str) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: another requester")
    with system_context("test: acme"):
        acme = Tenant.objects.get(pk=world["tenant"])
        role = Role.objects.get(key="requester")
    user = create_user(actor=actor, email=email, full_name="Jürgen Müller", password=None)
    add_membership(actor=actor, user=user, role=role, tenant=acme)


# --- RFC 6532: internationalised headers and addresses -----------------------------------------

UTF8_MAIL = (
    "From: Jürgen Müller <juergen@müller.example>\r\n"
    f"To: Acme Desk <{DESK}>\r\n"
    "Subject: Drucker im 3. Stock: Papierstau ✓\r\n"
    "Message-ID: <utf8-1@müller.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "Grüße aus Köln: der Drucker klemmt.\r\n"
).encode()


def test_a_raw_utf8_sender_opens_a_ticket(world, listener) -> None:  # type: ignore[no-untyped-def]
    _add_requester(world, "juergen@müller.example")
    kept = listener.send(UTF8_MAIL, sender="juergen@müller.example", utf8=True)
    assert kept.status == "processed", kept.reason
    assert kept.from_address == "juergen@müller.example"
    ticket = _tickets(world)[-1]
    assert ticket.subject == "Drucker im 3. Stock: Papierstau ✓"
    assert ticket.description == "Grüße aus Köln: der Drucker klemmt."
    assert bytes(kept.raw) == UTF8_MAIL


def test_a_raw_utf8_sender_who_is_no_member_is_kept_not_stuck(world, listener) -> None:  # type: ignore[no-untyped-def]
    """The message that used to raise UnicodeEncodeError twice and stay pending for ever."""
    raw = UTF8_MAIL.replace(b"juergen@", "jürgen@".encode())
    kept = listener.send(raw, sender="x@müller.example", utf8=True)
    assert kept.status == "kept", kept.reason
    assert kept.from_address == "jürgen@müller.example"
    assert kept.subject == "Drucker im 3. Stock: Papierstau ✓"
    assert kept.tenant_id == world["tenant"]


# --- Any failure ends "failed", visible and retryable ------------------------------------------


def _with_attachment(raw_subject: str = "Printer log", to: str = DESK) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = REQUESTER, to, raw_subject
    message.set_content("The log is attached.")
    message.add_attachment(b"%PDF-1.4 log", maintype="application", subtype="pdf", filename="l.pdf")
    return message.as_bytes()


#: Every step of processing, as the name the test replaces; "reply" steps need a reply.
STEPS = [
    ("_parse", "new"),
    ("_earlier_copy", "new"),
    ("_find_sender", "new"),
    ("_principal", "new"),
    ("_thread_target", "new"),
    ("ticket_services.create_ticket", "new"),
    ("ticket_notes.attach_file", "new"),
    ("ticket_notes.add_comment", "reply"),
    ("ticket_notes.attach_file", "reply"),
    ("_finish", "new"),
]


@pytest.mark.parametrize(("step", "kind"), STEPS, ids=[f"{s}-{k}" for s, k in STEPS])
def test_a_fault_at_any_step_ends_failed_visible_and_retryable(  # type: ignore[no-untyped-def]
    world, listener, as_persona, monkeypatch, step, kind, django_capture_on_commit_callbacks
) -> None:
    owner, name = mail_inbound, step
    if "." in step:
        module, name = step.split(".")
        owner = getattr(mail_inbound, module)
    real = getattr(owner, name)
    calls = {"n": 0}

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if step == "_finish" and args[1] != "processed":
            return real(*args, **kwargs)  # only recording the success breaks
        raise RuntimeError(f"injected fault at {step}")

    monkeypatch.setattr(owner, name, broken)
    tickets_before = len(_tickets(world))
    ticket_number = _tickets(world)[0].number
    to = DESK if kind == "new" else f"acme+{ticket_number}@{DOMAIN}"
    kept = listener.send(_with_attachment(to=to), to=to)

    assert calls["n"] >= 1
    assert kept.status == "failed"
    assert f"RuntimeError: injected fault at {step}" in kept.reason
    assert kept.tenant_id == world["tenant"] and kept.attempts == 1
    assert len(_tickets(world)) == tickets_before  # everything it did was rolled back
    with system_context("test: attachments"):
        assert not Attachment.objects.filter(filename="l.pdf").exists()

    client = as_persona("owner")
    review = client.get(f"/tenants/{world['tenant']}/mail-review/").content.decode()
    assert f"injected fault at {step}" in review
    retry = f"/tenants/{world['tenant']}/mail-review/inbound/{kept.pk}/retry/"
    assert retry in review

    monkeypatch.undo()  # the fault is fixed
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(retry, follow=True)
    assert f"Inbound mail {kept.pk} is queued to be processed again." in done.content.decode()
    again = _reload(kept)
    assert again.status == "processed", again.reason
    assert again.attempts == 2 and again.reason == ""
    assert again.attachments_kept == 1
    if kind == "new":
        assert len(_tickets(world)) == tickets_before + 1
    else:
        assert again.comment_id is not None and again.ticket_id == _tickets(world)[0].pk


def test_when_even_the_details_cannot_be_recorded_the_message_still_fails_visibly(  # type: ignore[no-untyped-def]
    world, listener, monkeypatch
) -> None:
    real = mail_inbound._record_outcome

    def picky(message_id, status, reason, code, processed_at, facts):  # type: ignore[no-untyped-def]
        if "subject" in facts:
            raise UnicodeEncodeError("utf-8", "\udcc3", 0, 1, "surrogates not allowed")
        return real(message_id, status, reason, code, processed_at, facts)

    def lookup_fails(address: str) -> None:
        raise UnicodeEncodeError("utf-8", address, 0, 1, "surrogates not allowed")

    monkeypatch.setattr(mail_inbound, "_record_outcome", picky)
    monkeypatch.setattr(mail_inbound, "_find_sender", lookup_fails)
    kept = listener.send(make_mail("Stuck?"))
    assert kept.status == "failed"
    assert kept.reason.startswith("UnicodeEncodeError")
    assert "could not be recorded" in kept.reason
    assert kept.tenant_id == world["tenant"]  # on Acme's review, not lost


def test_a_processed_message_is_not_retried(world, listener, as_persona) -> None:  # type: ignore[no-untyped-def]
    kept = listener.send(make_mail())
    client = as_persona("owner")
    # A processed message is not on the review: not found, and nothing happens.
    response = client.post(f"/tenants/{world['tenant']}/mail-review/inbound/{kept.pk}/retry/")
    assert response.status_code == 404
    assert _reload(kept).attempts == 1


def test_the_operator_retries_by_id_and_all_failed(world, listener, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(mail_inbound, "_thread_target", lambda *a: 1 / 0)
    first = listener.send(make_mail("First"))
    second = listener.send(make_mail("Second"))
    assert (first.status, second.status) == ("failed", "failed")
    assert "ZeroDivisionError" in first.reason
    # Still broken: the command says so and exits 1.
    assert main(["mail-retry", str(first.pk)]) == 1
    assert f"{first.pk}\tfailed\tZeroDivisionError" in capsys.readouterr().out
    monkeypatch.undo()
    assert main(["mail-retry", str(first.pk)]) == 0
    assert _reload(first).status == "processed"
    assert main(["mail-retry", "--all-failed"]) == 0
    out = capsys.readouterr()
    assert f"{second.pk}\tprocessed" in out.out and str(first.pk) not in out.out.split("\n")[-2]
    assert "1 message(s) processed again, 0 failed." in out.err
    assert _reload(second).status == "processed"
    assert [t.subject for t in _tickets(world)[-2:]] == ["First", "Second"]
    assert main(["mail-retry"]) == 1
    assert main(["mail-retry", str(first.pk)]) == 1  # processed: refused with a reason
    assert "can be processed again" in capsys.readouterr().err


# --- Attachments ---------------------------------------------------------------------------------


def test_a_message_with_hundreds_of_attachments_keeps_them_all(world, listener) -> None:  # type: ignore[no-untyped-def]
    count = 250
    parts = [
        "--b\r\nContent-Type: text/plain\r\n\r\nThe scans of the whole archive box.\r\n",
        *(
            "--b\r\nContent-Type: text/plain\r\n"
            f'Content-Disposition: attachment; filename="s{n}.txt"\r\n\r\npage {n}\r\n'
            for n in range(count)
        ),
        "--b--\r\n",
    ]
    raw = (
        f"From: {REQUESTER}\r\nTo: {DESK}\r\nSubject: Archive box\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + "".join(parts)
    ).encode()
    kept = listener.send(raw)
    assert kept.status == "processed", kept.reason
    assert kept.attachments_kept == count
    with system_context("test: attachments"):
        names = set(
            Attachment.objects.filter(ticket_id=kept.ticket_id).values_list("filename", flat=True)
        )
    assert names == {f"s{n}.txt" for n in range(count)}
    assert _tickets(world)[-1].description == "The scans of the whole archive box."


# --- Who may open tickets by mail ----------------------------------------------------------------


def _senders(client, world, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/v1/tenants/{world['tenant']}/mail-senders",
        data=json.dumps(body),
        content_type="application/json",
    )


def _member(world, email: str) -> bool:  # type: ignore[no-untyped-def]
    with system_context("test: memberships"):
        return Membership.objects.filter(
            user__email=email, tenant_id=world["tenant"], role__key="requester"
        ).exists()


def test_the_domains_policy_lets_the_tenants_domains_in(world, listener, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    assert owner.get(f"/api/v1/tenants/{world['tenant']}/mail-senders").json() == {
        "tenant_id": world["tenant"],
        "sender_policy": "members",
        "mail_domains": [],
    }
    saved = _senders(owner, world, {"sender_policy": "domains", "mail_domains": ["@Acme.TEST"]})
    assert saved.status_code == 200, saved.content
    assert saved.json()["mail_domains"] == ["acme.test"]
    with system_context("test: audit"):
        entry = AuditEntry.objects.filter(action="servicedesk.change_mail_senders").get()
    assert entry.tenant_id == world["tenant"]

    colleague = listener.send(make_mail(sender="new.colleague@acme.test"), sender="x@acme.test")
    assert colleague.status == "processed", colleague.reason
    assert _member(world, "new.colleague@acme.test")
    assert _tickets(world)[-1].requester.email == "new.colleague@acme.test"
    stranger = listener.send(make_mail(sender="someone@elsewhere.test"), sender="x@e.test")
    assert (stranger.status, stranger.reason_code) == ("kept", "sender")
    assert not _member(world, "someone@elsewhere.test")


def test_the_anyone_policy_lets_anyone_in(world, listener, as_persona) -> None:  # type: ignore[no-untyped-def]
    assert _senders(as_persona("owner"), world, {"sender_policy": "anyone"}).status_code == 200
    kept = listener.send(make_mail(sender="customer@elsewhere.test"), sender="c@e.test")
    assert kept.status == "processed", kept.reason
    assert _member(world, "customer@elsewhere.test")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"sender_policy": "domains", "mail_domains": []}, "at least one"),
        ({"sender_policy": "anyone", "mail_domains": ["not a domain"]}, "Not a domain name"),
        ({"sender_policy": "anyone", "mail_domains": [DOMAIN]}, "own mail domain"),
        ({"sender_policy": "everyone"}, ""),
    ],
)
def test_a_bad_sender_policy_is_refused_and_changes_nothing(
    world, as_persona, body, problem
) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    refused = _senders(owner, world, body)
    assert refused.status_code in (400, 422)
    assert problem in refused.content.decode()
    assert owner.get(f"/api/v1/tenants/{world['tenant']}/mail-senders").json()["sender_policy"] == (
        "members"
    )


def test_the_desk_configuration_page_edits_the_policy(world, as_persona, mail_settings) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"/tenants/{world['tenant']}/desk/mail-senders/"
    done = owner.post(
        url, {"sender_policy": "domains", "mail_domains": "acme.test\nbüro.example"}, follow=True
    )
    page = done.content.decode()
    assert "Who may open tickets by mail is saved." in page
    assert "acme.test, büro.example" in page


def test_mail_outside_the_policy_waits_and_the_owner_accepts_it(  # type: ignore[no-untyped-def]
    world, listener, as_persona, django_capture_on_commit_callbacks
) -> None:
    kept = listener.send(make_mail("Quote please", sender="buyer@partner.test"), sender="b@p.test")
    assert (kept.status, kept.reason_code) == ("kept", "sender")
    client = as_persona("owner")
    review = client.get(f"/tenants/{world['tenant']}/mail-review/").content.decode()
    accept = f"/tenants/{world['tenant']}/mail-review/inbound/{kept.pk}/accept/"
    assert accept in review and "Accept as requester and open the ticket" in review
    with django_capture_on_commit_callbacks(execute=True):
        client.post(accept)
    done = _reload(kept)
    assert done.status == "processed", done.reason
    assert _tickets(world)[-1].subject == "Quote please"
    assert _member(world, "buyer@partner.test")
    # Accepting twice finds nothing: a processed message is not on the review.
    assert client.post(accept).status_code == 404


def test_an_auto_reply_taken_by_mistake_is_accepted_into_a_ticket(  # type: ignore[no-untyped-def]
    world, listener, as_persona, django_capture_on_commit_callbacks
) -> None:
    kept = listener.send(make_mail("Out of Office"))
    assert (kept.status, kept.reason_code) == ("kept", "automatic")
    with django_capture_on_commit_callbacks(execute=True):
        as_persona("owner").post(
            f"/tenants/{world['tenant']}/mail-review/inbound/{kept.pk}/accept/"
        )
    assert _reload(kept).status == "processed"
    assert _tickets(world)[-1].subject == "Out of Office"


def test_a_reply_from_someone_on_the_cc_threads_on_as_their_public_note(world, listener) -> None:  # type: ignore[no-untyped-def]
    first = EmailMessage()
    first["From"], first["To"], first["Cc"] = REQUESTER, DESK, "Boss <boss@partner.test>"
    first["Subject"] = "Laptop for the new hire"
    first.set_content("Please order one.")
    opened = listener.send(first.as_bytes())
    assert opened.status == "processed", opened.reason
    ticket = _tickets(world)[-1]
    reply = make_mail(
        f"Re: [acme#{ticket.number}] Laptop", "Make it two.", sender="boss@partner.test"
    )
    answer = listener.send(reply, sender="boss@partner.test")
    assert answer.status == "processed", answer.reason
    note = _comments(ticket.pk)[-1]
    assert (note.body, note.visibility, note.author.email) == (
        "Make it two.",
        "public",
        "boss@partner.test",
    )
    assert not _member(world, "boss@partner.test")  # a note, not a membership
    # Someone who was not on the conversation is refused as before.
    other = listener.send(
        make_mail(f"Re: [acme#{ticket.number}] Laptop", "Me too", sender="x@partner.test"),
        sender="x@partner.test",
    )
    assert (other.status, other.reason_code) == ("kept", "sender")


def test_a_reply_from_a_watcher_threads_on(world, listener) -> None:  # type: ignore[no-untyped-def]
    watcher = create_user(
        actor=system_principal("test: a watcher"), email="auditor@partner.test", full_name="A"
    )
    with system_context("test: watch"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        ticket.watchers.add(watcher)
    reply = make_mail(f"[acme#{ticket.number}] server", "Noted.", sender="auditor@partner.test")
    kept = listener.send(reply, sender="auditor@partner.test")
    assert kept.status == "processed", kept.reason
    assert _comments(ticket.pk)[-1].author_id == watcher.pk


# --- The review in the API -----------------------------------------------------------------------


def test_the_api_lists_every_message_and_retries_and_accepts(  # type: ignore[no-untyped-def]
    world,
    listener,
    as_persona,
    monkeypatch,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
) -> None:
    opened = listener.send(_with_attachment())
    stranger = listener.send(make_mail("Quote", sender="buyer@partner.test"), sender="b@p.test")
    monkeypatch.setattr(mail_inbound, "_thread_target", lambda *a: 1 / 0)
    broken = listener.send(make_mail("Broken"))
    monkeypatch.undo()
    owner = as_persona("owner")
    url = f"/api/v1/tenants/{world['tenant']}/inbound-mail"
    with django_assert_max_num_queries(12):
        listed = owner.get(url).json()
    by_id = {row["id"]: row for row in listed["items"]}
    assert {opened.pk, stranger.pk, broken.pk} <= set(by_id)
    assert listed["count"] == len(listed["items"])
    row = by_id[opened.pk]
    assert (row["status"], row["ticket_id"], row["comment_id"], row["attachments_kept"]) == (
        "processed",
        opened.ticket_id,
        None,
        1,
    )
    assert row["from_address"] == REQUESTER and row["subject"] == "Printer log"
    assert (by_id[stranger.pk]["status"], by_id[stranger.pk]["reason_code"]) == ("kept", "sender")
    assert "ZeroDivisionError" in by_id[broken.pk]["reason"]

    failed = owner.get(url, {"status": "failed", "limit": 1}).json()
    assert [r["id"] for r in failed["items"]] == [broken.pk] and failed["count"] == 1
    assert owner.get(url, {"status": "lost"}).status_code == 422

    with django_capture_on_commit_callbacks(execute=True):
        retried = owner.post(f"{url}/{broken.pk}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert _reload(broken).status == "processed"
    again = owner.post(f"{url}/{broken.pk}/retry")
    assert again.status_code == 409 and "processed" in again.json()["detail"]
    with django_capture_on_commit_callbacks(execute=True):
        accepted = owner.post(f"{url}/{stranger.pk}/accept")
    assert accepted.status_code == 200
    assert _reload(stranger).status == "processed"
    assert owner.post(f"{url}/{opened.pk}/accept").status_code == 409
    # A requester holds no review permission (403, as everywhere); Globex's owner holds it
    # in Globex and learns nothing of Acme's mail (404).
    assert as_persona("requester").get(url).status_code == 403
    assert as_persona("other_tenant_owner").post(f"{url}/{stranger.pk}/retry").status_code == 404
