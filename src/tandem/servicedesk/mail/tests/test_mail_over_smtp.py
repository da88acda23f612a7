"""E-mail end to end, over real SMTP on 127.0.0.1: Tandem's own listener receives mail, and
an in-process SMTP server stands in for the relay that notifications go out through.

The listener's handler runs in aiosmtpd's thread; it shares this test's database connection
(and so its rolled-back transaction), and the processing that would run in a worker runs
through django-tasks' immediate backend when the accepting transaction "commits".
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.core import mail as django_mail

# The listener, the relay and message helpers are shared with the other mail suites; the
# fixtures (listener, outbox, mail_settings) come from tests/desk/mail_support.py, a plugin
# of the root conftest.py.
from tests.desk.mail_support import (
    DESK,
    DOMAIN,
    LISTENER_LIMIT,
    REQUESTER,
    Outbox,
)
from tests.desk.mail_support import free_port as _free_port
from tests.desk.mail_support import make_mail as _mail
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.cli import build_parser
from tandem.core.errors import InvalidInput
from tandem.core.scoping import principal_scope, system_context
from tandem.servicedesk.mail import inbound as mail_inbound
from tandem.servicedesk.mail import outbound
from tandem.servicedesk.mail import services as mail_services
from tandem.servicedesk.mail.models import InboundMessage, OutboundMessage
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Attachment, Comment, Ticket
from tandem.tenancy.models import Party, Tenant


def _tickets(world) -> list[Ticket]:  # type: ignore[no-untyped-def]
    with system_context("test: acme's tickets"):
        return list(Ticket.objects.filter(tenant_id=world["tenant"]).order_by("number"))


def _comments(ticket_id: int) -> list[Comment]:
    with system_context("test: notes"):
        return list(Comment.objects.filter(ticket_id=ticket_id).order_by("id"))


def _ticket(world, name: str = "ticket") -> Ticket:  # type: ignore[no-untyped-def]
    with system_context("test: a ticket"):
        return Ticket.objects.select_related("tenant").get(pk=world[name])


def _public_reply(world, ticket: Ticket, body: str, capture) -> Comment:  # type: ignore[no-untyped-def]
    tech = resolve_principal(user_of(world, "internal_tech"))
    with capture(execute=True), principal_scope(tech):
        return ticket_notes.add_comment(actor=tech, ticket=ticket, body=body, visibility="public")


# --- Opening tickets -----------------------------------------------------------------------------


def test_a_requesters_mail_opens_a_ticket_and_is_acknowledged(world, listener, outbox) -> None:  # type: ignore[no-untyped-def]
    before = len(_tickets(world))
    kept = listener.send(_mail())
    assert kept.status == "processed", kept.reason
    tickets = _tickets(world)
    assert len(tickets) == before + 1
    ticket = tickets[-1]
    assert kept.ticket_id == ticket.pk and kept.tenant_id == world["tenant"]
    assert ticket.subject == "Printer on the 3rd floor jams"
    assert ticket.description == "It jams on every second page."
    assert ticket.via == "email"
    assert ticket.requester_id == world["user:requester"]
    assert bytes(kept.raw).startswith(b"From: requester@acme.test")

    [(_sender, to, ack)] = outbox.received
    assert to == [REQUESTER]
    assert ack["Subject"] == f"[acme#{ticket.number}] Printer on the 3rd floor jams"
    assert ack["Reply-To"] == f"acme+{ticket.number}@{DOMAIN}"
    assert "we have received your request" in ack.get_content()


# --- The conversation: a public reply out, the requester's answer back in ----------------------


def test_a_public_reply_reaches_the_requester_and_the_answer_threads_back(  # type: ignore[no-untyped-def]
    world, listener, outbox, django_capture_on_commit_callbacks
) -> None:
    ticket = _ticket(world)
    reply = _public_reply(
        world, ticket, "Please restart the file server service.", django_capture_on_commit_callbacks
    )

    [(envelope_from, to, sent)] = outbox.received
    assert to == [REQUESTER]
    assert envelope_from == "desk@tandem.example"
    assert sent["Subject"] == f"[acme#{ticket.number}] Acme file server is slow"
    assert sent["Reply-To"] == f"acme+{ticket.number}@{DOMAIN}"
    assert sent["From"] == "Acme Corp Service Desk <desk@tandem.example>"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-Tandem-Loop"] == DOMAIN
    assert "Please restart the file server service." in sent.get_content()
    with system_context("test: the notification log"):
        logged = OutboundMessage.objects.get(comment=reply)
    assert logged.status == "sent" and logged.to_address == REQUESTER
    assert sent["Message-ID"] == logged.message_id
    assert logged.message_id.endswith(f"@{DOMAIN}>")

    # The requester answers from their mail client: to the plain desk address, with a new
    # subject, so only In-Reply-To/References lead back to the ticket.
    answer = _mail(
        "Re: that",
        "Restarted it, and it is fast again. Thanks!\n\n"
        "On Tue, 1 Dec 2026 at 10:02, Acme Corp Service Desk <acme+1@tandem.localhost> wrote:\n"
        "> Please restart the file server service.\n",
        headers={"In-Reply-To": logged.message_id, "References": logged.message_id},
    )
    before = len(_tickets(world))
    kept = listener.send(answer)
    assert kept.status == "processed", kept.reason
    assert len(_tickets(world)) == before
    comment = _comments(ticket.pk)[-1]
    assert kept.ticket_id == ticket.pk and kept.comment_id == comment.pk
    assert comment.body == "Restarted it, and it is fast again. Thanks!"
    assert comment.visibility == "public"
    assert comment.via == "email"
    assert comment.author_id == world["user:requester"]
    assert comment.message_id == kept.message_id
    assert len(outbox.received) == 1  # the requester's own note mails nobody


def test_the_reply_address_threads_a_message(world, listener) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(world)
    kept = listener.send(
        _mail("Another thing", "Also the printer.", to=f"acme+{ticket.number}@{DOMAIN}"),
        to=f"acme+{ticket.number}@{DOMAIN}",
    )
    assert kept.status == "processed", kept.reason
    assert kept.ticket_id == ticket.pk
    assert _comments(ticket.pk)[-1].body == "Also the printer."


def test_the_subject_reference_threads_a_message(world, listener) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(world)
    kept = listener.send(_mail(f"RE: [acme#{ticket.number}] Acme file server", "Any news?"))
    assert kept.status == "processed", kept.reason
    assert kept.ticket_id == ticket.pk
    assert _comments(ticket.pk)[-1].body == "Any news?"


def test_an_it_persons_mail_becomes_an_it_shared_note(world, listener) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(world)
    raw = _mail(f"[acme#{ticket.number}] server", "Disk is 98% full.", sender="tech@acme.test")
    kept = listener.send(raw, sender="tech@acme.test")
    assert kept.status == "processed", kept.reason
    note = _comments(ticket.pk)[-1]
    assert (note.body, note.visibility, note.author_id) == (
        "Disk is 98% full.",
        "shared",
        world["user:internal_tech"],
    )


def test_a_requester_cannot_write_onto_someone_elses_ticket(world, listener) -> None:  # type: ignore[no-untyped-def]
    other = _ticket(world, "sentinel_ticket")  # requested by the owner
    kept = listener.send(_mail(f"[acme#{other.number}] sign-ins", "Me too!"))
    assert kept.status == "kept"
    assert "may not add notes" in kept.reason
    assert _comments(other.pk) == []


# --- Reading odd mail ----------------------------------------------------------------------------


def test_html_only_mail_becomes_readable_text(world, listener) -> None:  # type: ignore[no-untyped-def]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = REQUESTER, DESK, "VPN"
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>The <b>VPN</b> drops.</p>"
        "<script>alert(1)</script><ul><li>Laptop X1</li><li>Since Monday</li></ul></body></html>",
        subtype="html",
    )
    kept = listener.send(message.as_bytes())
    assert kept.status == "processed", kept.reason
    assert _tickets(world)[-1].description == "The VPN drops.\n\n- Laptop X1\n- Since Monday"


@pytest.mark.parametrize(
    ("subject", "content_type", "body", "expected_subject", "expected_text"),
    [
        (
            "=?iso-8859-1?q?Drucker_f=E4llt_aus?=",
            "text/plain; charset=iso-8859-1",
            "Grüße aus Köln".encode("iso-8859-1"),
            "Drucker fällt aus",
            "Grüße aus Köln",
        ),
        (
            "=?windows-1252?b?k1NtYXJ0lCBxdW90ZXM=?=",
            "text/plain; charset=windows-1252",
            "It costs 5 € – “too much”".encode("cp1252"),
            "“Smart” quotes",
            "It costs 5 € – “too much”",
        ),
        (
            "=?utf-8?q?Caf=C3=A9?=",
            "text/plain; charset=x-made-up",
            "Crème brûlée".encode("cp1252"),
            "Café",
            "Crème brûlée",
        ),
    ],
    ids=["iso-8859-1", "windows-1252", "unknown-charset"],
)
def test_odd_encodings_are_read(  # type: ignore[no-untyped-def]
    world, listener, subject, content_type, body, expected_subject, expected_text
) -> None:
    raw = (
        (
            f"From: {REQUESTER}\r\nTo: {DESK}\r\nSubject: {subject}\r\n"
            f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + body
        + b"\r\n"
    )
    kept = listener.send(raw)
    assert kept.status == "processed", kept.reason
    ticket = _tickets(world)[-1]
    assert (ticket.subject, ticket.description) == (expected_subject, expected_text)


def test_attachments_are_kept_and_executables_refused_but_mentioned(world, listener) -> None:  # type: ignore[no-untyped-def]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = REQUESTER, DESK, "Error report"
    message.set_content("The log and the installer they sent me are attached.")
    message.add_attachment(
        b"%PDF-1.4 error log", maintype="application", subtype="pdf", filename="error log.pdf"
    )
    message.add_attachment(
        b"MZ\x90\x00\x03", maintype="application", subtype="octet-stream", filename="setup.exe"
    )
    kept = listener.send(message.as_bytes())
    assert kept.status == "processed", kept.reason
    ticket = _tickets(world)[-1]
    assert ticket.description == (
        "The log and the installer they sent me are attached.\n\n"
        "Attachment refused: setup.exe (executable files and scripts are not accepted)."
    )
    with system_context("test: attachments"):
        [kept_file] = Attachment.objects.filter(ticket=ticket)
        assert (kept_file.filename, kept_file.content_type, kept_file.size) == (
            "error log.pdf",
            "application/pdf",
            18,
        )
        assert kept_file.visibility == "public"
        assert kept_file.uploaded_by_id == world["user:requester"]
        with kept_file.file.open("rb") as stored:
            assert stored.read() == b"%PDF-1.4 error log"


def test_an_attachment_on_a_reply_belongs_to_the_note(world, listener) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(world)
    message = EmailMessage()
    message["From"], message["To"] = REQUESTER, f"acme+{ticket.number}@{DOMAIN}"
    message["Subject"] = "Re: screenshot"
    message.set_content("")
    message.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="s.png")
    kept = listener.send(message.as_bytes(), to=f"acme+{ticket.number}@{DOMAIN}")
    assert kept.status == "processed", kept.reason
    note = _comments(ticket.pk)[-1]
    assert note.body == "Sent s.png."
    with system_context("test: attachments"):
        assert list(Attachment.objects.filter(comment=note).values_list("filename", flat=True)) == [
            "s.png"
        ]


# --- What must not open tickets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"X-Autoreply": "yes"}, "X-Autoreply"),
        ({"Precedence": "auto_reply"}, "Precedence: auto_reply"),
        ({"Return-Path": "<>"}, "automatic reply (subject: Out of office)"),
        ({"X-Tandem-Loop": DOMAIN}, "mail loop"),
    ],
    ids=["auto-submitted", "x-autoreply", "precedence", "null-return-path", "loop-header"],
)
def test_automatic_mail_is_kept_as_ignored(world, listener, outbox, headers, reason) -> None:  # type: ignore[no-untyped-def]
    before = len(_tickets(world))
    kept = listener.send(_mail("Out of office", "I am away until Monday.", headers=headers))
    assert kept.status == "kept"
    assert reason in kept.reason
    assert len(_tickets(world)) == before
    assert outbox.received == []


def test_a_bounce_with_a_null_sender_is_kept_as_ignored(world, listener) -> None:  # type: ignore[no-untyped-def]
    kept = listener.send(_mail("Undeliverable: your message", "User unknown"), sender="")
    assert kept.status == "kept"
    assert "delivery failure notice (subject, empty return path)" in kept.reason
    assert kept.reason_code == "bounce"


def test_a_forged_sender_is_kept_as_ignored(world, listener) -> None:  # type: ignore[no-untyped-def]
    forged = _mail(
        headers={
            "Authentication-Results": "mx.acme.test; spf=fail; dmarc=fail header.from=acme.test"
        }
    )
    before = len(_tickets(world))
    kept = listener.send(forged)
    assert kept.status == "kept"
    assert "DMARC" in kept.reason
    assert len(_tickets(world)) == before


def test_our_own_notification_coming_back_is_a_loop(  # type: ignore[no-untyped-def]
    world, listener, outbox, django_capture_on_commit_callbacks
) -> None:
    ticket = _ticket(world)
    _public_reply(world, ticket, "Restart it, please.", django_capture_on_commit_callbacks)
    [(_from, _to, sent)] = outbox.received
    before = len(_comments(ticket.pk))
    # The requester's mailbox forwards everything to the desk: our mail arrives again.
    kept = listener.send(sent.as_bytes(), to=f"acme+{ticket.number}@{DOMAIN}")
    assert kept.status == "kept"
    assert "mail loop: sent from Tandem's own address" in kept.reason
    # Tandem's own mail (it could be another tenant's notice) is kept for the operator, not
    # shown on the review of the desk it was sent to.
    assert kept.tenant_id is None
    assert len(_comments(ticket.pk)) == before
    assert len(outbox.received) == 1


def test_a_mail_loop_cannot_create_a_ticket_storm(world, listener) -> None:  # type: ignore[no-untyped-def]
    before = len(_tickets(world))
    kept = [listener.send(_mail(f"Alert {n}", "Disk full")) for n in range(11)]
    assert [k.status for k in kept] == ["processed"] * 10 + ["kept"]
    assert "rate limit" in kept[-1].reason
    assert len(_tickets(world)) == before + 10
    assert len(django_mail.outbox) == 10  # one acknowledgement per ticket, none for the 11th


def test_the_same_message_twice_opens_one_ticket(world, listener) -> None:  # type: ignore[no-untyped-def]
    """A resend (or the same mail to two desk addresses) is linked to the first one's
    ticket: not a second ticket, not dropped, and not a second copy of the text."""
    raw = _mail()
    first = listener.send(raw)
    count, notes = len(_tickets(world)), len(_comments(first.ticket_id))
    second = listener.send(raw)
    assert (first.status, second.status) == ("processed", "processed")
    assert second.ticket_id == first.ticket_id and second.comment_id is None
    assert f"inbound mail {first.pk}" in second.reason
    assert len(_tickets(world)) == count and len(_comments(first.ticket_id)) == notes


def test_a_reused_message_id_with_new_text_threads_as_a_note(world, listener) -> None:  # type: ignore[no-untyped-def]
    first = listener.send(_mail(body="The printer jams."))
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = REQUESTER, DESK, "Printer"
    message["Message-ID"] = first.message_id
    message.set_content("And now it smokes.")
    second = listener.send(message.as_bytes())
    assert second.status == "processed", second.reason
    assert second.ticket_id == first.ticket_id
    assert _comments(first.ticket_id)[-1].body == "And now it smokes."


def test_an_unknown_sender_is_kept_as_ignored(world, listener) -> None:  # type: ignore[no-untyped-def]
    before = len(_tickets(world))
    stranger = listener.send(_mail(sender="stranger@example.test"), sender="stranger@example.test")
    other_tenant = listener.send(_mail(sender="owner@globex.test"), sender="owner@globex.test")
    for kept in (stranger, other_tenant):
        assert kept.status == "kept"
        assert "sender outside the desk's policy" in kept.reason
        assert kept.tenant_id == world["tenant"]
    assert len(_tickets(world)) == before
    assert django_mail.outbox == []


def test_mail_for_a_desk_that_does_not_exist_is_kept_as_ignored(world, listener) -> None:  # type: ignore[no-untyped-def]
    kept = listener.send(_mail(to=f"initech@{DOMAIN}"), to=f"initech@{DOMAIN}")
    assert kept.status == "kept"
    assert "no service desk 'initech'" in kept.reason


def test_the_operator_lists_and_downloads_mail_that_matched_no_desk(  # type: ignore[no-untyped-def]
    world, listener, capsys, tmp_path
) -> None:
    """No tenant's review shows mail for a desk that does not exist; the operator's
    ``tandem mail-unrouted`` does, and writes it out as it arrived."""
    from tandem.cli import main

    stray = listener.send(
        _mail(to=f"initech@{DOMAIN}", subject="Where is my laptop?"), to=f"initech@{DOMAIN}"
    )
    routed = listener.send(b"not an e-mail at all, but sent to Acme's desk")
    assert stray.tenant_id is None and routed.tenant_id == world["tenant"]
    assert main(["mail-unrouted"]) == 0
    listed = capsys.readouterr()
    ids = {int(line.split("\t")[0]) for line in listed.out.splitlines() if line[:1].isdigit()}
    assert ids == {stray.pk}  # Acme's unreadable mail is Acme's to review, not listed here
    assert "Where is my laptop?" in listed.out
    assert f"initech@{DOMAIN}" in listed.out and "no service desk 'initech'" in listed.out
    assert "1 unrouted message(s)." in listed.err
    eml = tmp_path / "stray.eml"
    assert main(["mail-unrouted", "--raw", str(stray.pk), "-o", str(eml)]) == 0
    assert eml.read_bytes() == bytes(stray.raw)
    # Acme's mail is Acme's to review, not the operator's.
    assert main(["mail-unrouted", "--raw", str(routed.pk)]) == 1
    assert f"no unrouted inbound mail {routed.pk}" in capsys.readouterr().err


def test_garbage_is_kept_as_failed_for_review(world, listener) -> None:  # type: ignore[no-untyped-def]
    garbage = b"this is not an e-mail at all\r\n\x00\xff\xfe\x01 binary"
    kept = listener.send(garbage)
    assert kept.status == "failed"
    assert "not an e-mail" in kept.reason
    # Kept under the desk its envelope names, for that tenant's mail review.
    assert kept.tenant_id == world["tenant"]
    assert bytes(kept.raw).startswith(b"this is not an e-mail at all")
    assert kept.envelope_to == [DESK]


# --- Refused at the door -------------------------------------------------------------------------


def test_an_oversize_message_is_refused_at_smtp_level(world, listener) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: count"):
        before = InboundMessage.objects.count()
    big = _mail(body="x" * (LISTENER_LIMIT + 1000)).replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", listener.port, local_hostname="client.test") as smtp:
        # A client that announces the size is refused at MAIL FROM ...
        with pytest.raises(smtplib.SMTPSenderRefused) as declared:
            smtp.sendmail(REQUESTER, [DESK], big)
        assert declared.value.smtp_code == 552
        smtp.rset()
        # ... and one that does not, once the data exceeds the limit.
        smtp.mail(REQUESTER)
        smtp.rcpt(DESK)
        code, _message = smtp.data(big)
        assert code == 552
    with system_context("test: count"):
        assert InboundMessage.objects.count() == before


def test_long_lines_are_accepted_and_kept_as_received(world, listener) -> None:  # type: ignore[no-untyped-def]
    """Lines over RFC 5321's 1,000 octets (HTML on one line, unfolded base64) are common in
    real mail; refusing them ("500 Line too long") loses the message."""
    long_line = "<p>" + "The VPN drops every hour. " * 400 + "</p>"  # ~10,000 octets
    raw = (
        f"From: {REQUESTER}\r\nTo: {DESK}\r\nSubject: One long line\r\n"
        f"X-Long: {'x' * 2000}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        f"{long_line}\r\n"
    ).encode()
    assert max(len(line) for line in raw.split(b"\r\n")) > 10_000
    kept = listener.send(raw)
    assert bytes(kept.raw) == raw
    assert kept.status == "processed", kept.reason
    assert _tickets(world)[-1].description.startswith("The VPN drops every hour.")


def test_a_long_line_still_counts_towards_the_size_limit(world, listener) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: count"):
        before = InboundMessage.objects.count()
    raw = f"From: {REQUESTER}\r\nSubject: x\r\n\r\n{'y' * (LISTENER_LIMIT + 10)}\r\n".encode()
    with smtplib.SMTP("127.0.0.1", listener.port, local_hostname="client.test") as smtp:
        smtp.ehlo()
        smtp.mail(REQUESTER)
        smtp.rcpt(DESK)
        code, _message = smtp.data(raw)
        assert code in (500, 552)  # refused for good: the sender's server reports it
        # Commands keep their own limit.
        code, _message = smtp.docmd("NOOP " + "z" * 2000)
        assert code == 500
    with system_context("test: count"):
        assert InboundMessage.objects.count() == before


def test_recipients_that_are_no_desk_are_refused(world, listener) -> None:  # type: ignore[no-untyped-def]
    with (
        smtplib.SMTP("127.0.0.1", listener.port, local_hostname="client.test") as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        smtp.sendmail(REQUESTER, ["someone@elsewhere.test"], _mail())
    code, message = refused.value.recipients["someone@elsewhere.test"]
    assert code == 550 and b"not a service desk address" in message


# --- Delivery failures, idempotency, recovery ----------------------------------------------------


def test_only_requesters_get_the_reply_its_it_watchers_a_notice_and_the_author_nothing(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks, mail_settings
) -> None:
    ticket = _ticket(world)
    with system_context("test: watchers"):
        ticket.watchers.add(user_of(world, "internal_tech"), user_of(world, "auditor"))
    owner = resolve_principal(user_of(world, "owner"))
    with django_capture_on_commit_callbacks(execute=True), principal_scope(owner):
        ticket_notes.add_comment(actor=owner, ticket=ticket, body="Done.", visibility="public")
        ticket_notes.add_comment(actor=owner, ticket=ticket, body="Internal.", visibility="shared")
    replies = [m for m in django_mail.outbox if m.to == [REQUESTER]]
    assert len(replies) == 1 and "Done." in replies[0].body
    # The watching IT people get a short notice without the text; the owner (author) nothing;
    # the shared note mails nobody.
    notices = sorted((m.to[0], m.subject) for m in django_mail.outbox if m.to != [REQUESTER])
    subject = f"[acme#{ticket.number}] New public reply: Acme file server is slow"
    assert notices == [("auditor@acme.test", subject), ("tech@acme.test", subject)]
    assert not any("Done." in m.body or "Internal." in m.body for m in django_mail.outbox[1:])


def test_a_dead_smtp_server_does_not_break_the_reply(  # type: ignore[no-untyped-def]
    world, mail_settings, django_capture_on_commit_callbacks
) -> None:
    mail_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    mail_settings.EMAIL_HOST, mail_settings.EMAIL_PORT = "127.0.0.1", _free_port()
    ticket = _ticket(world)
    reply = _public_reply(world, ticket, "We are on it.", django_capture_on_commit_callbacks)
    assert _comments(ticket.pk)[-1].pk == reply.pk
    with system_context("test: the notification log"):
        logged = OutboundMessage.objects.get(comment=reply)
    assert logged.status == "failed" and logged.attempts == 1
    assert "Connection refused" in logged.error or "ConnectionRefused" in logged.error
    assert outbound.send_outbound_message(outbound_id=logged.pk) == "skipped"


def test_processing_twice_changes_nothing(world, listener) -> None:  # type: ignore[no-untyped-def]
    kept = listener.send(_mail())
    count = len(_tickets(world))
    again = mail_inbound.process_inbound_message(message_id=kept.pk)
    assert again is not None and again.status == "processed"
    assert len(_tickets(world)) == count


def test_pending_mail_is_processed_when_requeued(world, mail_settings) -> None:  # type: ignore[no-untyped-def]
    kept = mail_inbound.receive_message(
        envelope_from=REQUESTER, recipients=[DESK], raw=_mail("Left behind"), peer="127.0.0.1"
    )
    assert kept.status == "pending"  # its on-commit task never ran (test transaction)
    assert mail_inbound.requeue_pending() >= 1
    with system_context("test: the kept message"):
        kept.refresh_from_db()
    assert kept.status == "processed", kept.reason
    ticket = _tickets(world)[-1]
    assert ticket.subject == "Left behind"
    with system_context("test: history"):
        # The clocks start when the mail arrived, not when a worker got round to it.
        assert ticket.events.get(kind="created").at == kept.received_at


# --- Per-tenant wording --------------------------------------------------------------------------


def test_a_tenant_template_words_the_notification(  # type: ignore[no-untyped-def]
    world, outbox, django_capture_on_commit_callbacks
) -> None:
    owner = resolve_principal(user_of(world, "owner"))
    with system_context("test: tenant"):
        acme = Tenant.objects.get(pk=world["tenant"])
    with principal_scope(owner):
        mail_services.set_mail_template(
            actor=owner,
            tenant=acme,
            kind="public_reply",
            subject="Update on {{ ticket_subject }}",
            body="Hi {{ requester_name }},\n{{ comment_body }}\n-- {{ tenant_name }} IT & Co",
        )
    _public_reply(world, _ticket(world), "Fixed.", django_capture_on_commit_callbacks)
    [(_from, _to, sent)] = outbox.received
    ticket = _ticket(world)
    # The reference is added when a template leaves it out: threading depends on it.
    assert sent["Subject"] == f"[acme#{ticket.number}] Update on Acme file server is slow"
    assert sent.get_content().splitlines() == ["Hi Requester,", "Fixed.", "-- Acme Corp IT & Co"]


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("{% if %}", "x", "Template error"),
        ("ok", "{% include 'x.html' %}", "not allowed in e-mail: include"),
        ("ok", "{% load static %}{% debug %}", "not allowed in e-mail: debug, load"),
        ("two\nlines", "x", "one line"),
        ("", "body only", "Write the subject"),
    ],
)
def test_a_bad_template_is_refused_and_changes_nothing(world, subject, body, message) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    with system_context("test: tenant"):
        acme = Tenant.objects.get(pk=world["tenant"])
    with principal_scope(owner), pytest.raises(InvalidInput, match=message):
        mail_services.set_mail_template(
            actor=owner, tenant=acme, kind="public_reply", subject=subject, body=body
        )
    with system_context("test: templates"):
        assert not acme.mailtemplate_set.exists()


def test_mail_listen_has_help(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["mail-listen", "--help"])
    assert exit_.value.code == 0
    assert "--port" in capsys.readouterr().out


# --- Notices to IT people ------------------------------------------------------------------------


def test_a_handoff_notice_reaches_the_receiving_party_over_smtp(  # type: ignore[no-untyped-def]
    world, outbox, django_capture_on_commit_callbacks
) -> None:
    tech = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test: northwind"):
        northwind = Party.objects.get(pk=world["party"])
    with django_capture_on_commit_callbacks(execute=True), principal_scope(tech):
        ticket_services.handoff_ticket(
            actor=tech, ticket=_ticket(world), to_party=northwind, reason="Disk firmware update"
        )
    ticket = _ticket(world)
    received = sorted(outbox.received, key=lambda r: r[1])
    assert [to for _from, to, _m in received] == [["admin@northwind.test"], ["tech@northwind.test"]]
    _from, _to, sent = received[1]
    assert _from == "desk@tandem.example"
    assert sent["From"] == "Acme Corp Service Desk <desk@tandem.example>"
    assert sent["Subject"] == f"[acme#{ticket.number}] Handed to you: Acme file server is slow"
    assert sent["Auto-Submitted"] == "auto-generated"
    body = sent.get_content()
    assert "tech@acme.test handed it from Acme Corp IT to Northwind MSP: Disk firmware update" in (
        body
    )
    assert f"Priority: P{ticket.priority}" in body and "Tenant:   Acme Corp" in body
    assert f"/tickets/{ticket.pk}/" in body
    with system_context("test: the log"):
        logged = OutboundMessage.objects.get(ticket=ticket, to_address="tech@northwind.test")
    assert logged.status == "sent" and logged.kind == "handoff"
    assert sent["Message-ID"] == logged.message_id


def test_a_notice_the_relay_refused_is_sent_again_from_the_review(  # type: ignore[no-untyped-def]
    world, mail_settings, as_persona, django_capture_on_commit_callbacks
) -> None:
    # The relay is down when the ticket is assigned...
    mail_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    mail_settings.EMAIL_HOST, mail_settings.EMAIL_PORT = "127.0.0.1", _free_port()
    owner = resolve_principal(user_of(world, "owner"))
    with django_capture_on_commit_callbacks(execute=True), principal_scope(owner):
        ticket_services.assign_ticket(
            actor=owner, ticket=_ticket(world), assignee=user_of(world, "internal_tech")
        )
    with system_context("test: the log"):
        logged = OutboundMessage.objects.get(ticket_id=world["ticket"], kind="assigned")
    assert logged.status == "failed"
    client = as_persona("owner")
    review = client.get(f"/tenants/{world['tenant']}/mail-review/").content.decode()
    assert "tech@acme.test" in review and "Ticket assigned to you (IT)" in review
    # ...and back when the owner retries.
    sink = Outbox()
    port = _free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="relay.test")
    server.start()
    try:
        mail_settings.EMAIL_PORT = port
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(
                f"/tenants/{world['tenant']}/mail-review/outbound/{logged.pk}/retry/", follow=True
            )
    finally:
        server.stop()
    assert "The e-mail to tech@acme.test is queued to be sent." in done.content.decode()
    [(_from, to, sent)] = sink.received
    assert to == ["tech@acme.test"] and "owner@acme.test assigned it to you." in sent.get_content()
    with system_context("test: the log"):
        logged.refresh_from_db()
    assert logged.status == "sent" and logged.attempts == 2
    assert (
        "tech@acme.test"
        not in client.get(f"/tenants/{world['tenant']}/mail-review/").content.decode()
    )
