"""Reading e-mail: plain functions over bytes, no database."""

from __future__ import annotations

import binascii
from email.message import EmailMessage

import pytest
from django.template import Engine
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.servicedesk.choices import MailKind
from tandem.servicedesk.mail import parsing as mail_parsing
from tandem.servicedesk.mail import text as mail_text

MB = 1024 * 1024


def _raw(*headers: str, body: bytes = b"Hello", content_type: str = "text/plain") -> bytes:
    lines = ["From: Rita Requester <rita@acme.test>", "To: acme@desk.test", *headers]
    if not any(h.lower().startswith("content-type") for h in headers):
        lines.append(f"Content-Type: {content_type}; charset=utf-8")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_plain_message() -> None:
    parsed = mail_parsing.parse_message(
        _raw("Subject: Printer down", "Message-ID: <m1@acme.test>", body=b"It jams.\r\n")
    )
    assert parsed.from_address == "rita@acme.test"
    assert parsed.from_name == "Rita Requester"
    assert parsed.subject == "Printer down"
    assert parsed.message_id == "<m1@acme.test>"
    assert parsed.text == "It jams."
    assert parsed.attachments == ()
    assert parsed.auto_reason == ""


def test_plain_text_is_preferred_over_html() -> None:
    message = EmailMessage()
    message["From"] = "rita@acme.test"
    message["Subject"] = "Both"
    message.set_content("The plain version")
    message.add_alternative("<p>The <b>HTML</b> version</p>", subtype="html")
    parsed = mail_parsing.parse_message(message.as_bytes())
    assert parsed.text == "The plain version"
    assert parsed.attachments == ()


def test_an_html_only_message_becomes_readable_text() -> None:
    html = (
        "<html><head><style>p {color: red}</style><script>alert('x')</script></head>"
        "<body><p>Hello&nbsp;IT,</p><p>the <b>VPN</b> drops<br>every hour.</p>"
        "<ul><li>Laptop: X1</li><li>Since: Monday</li></ul>"
        '<p>See <a href="https://status.acme.test/vpn">the status page</a>.</p></body></html>'
    )
    parsed = mail_parsing.parse_message(
        _raw("Subject: VPN", body=html.encode(), content_type="text/html")
    )
    assert parsed.text == (
        "Hello IT,\n\nthe VPN drops\nevery hour.\n\n- Laptop: X1\n- Since: Monday\n\n"
        "See the status page <https://status.acme.test/vpn>."
    )
    assert "alert" not in parsed.text and "color" not in parsed.text


def test_html_blockquotes_become_quoted_lines() -> None:
    text = mail_text.html_to_text(
        "<div>Fixed, thanks!</div><div>On Tue, Dec 1, 2026, Desk wrote:</div>"
        "<blockquote><p>Please reboot.</p></blockquote>"
    )
    assert text == "Fixed, thanks!\nOn Tue, Dec 1, 2026, Desk wrote:\n\n> Please reboot."
    assert mail_text.trim_quoted_reply(text) == "Fixed, thanks!"


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("iso-8859-1", "Grüße aus Köln".encode("iso-8859-1"), "Grüße aus Köln"),
        ("windows-1252", "“Smart” quotes cost 5 €".encode("cp1252"), "“Smart” quotes cost 5 €"),
        # Labelled Latin-1 but written by Windows: read as Windows-1252, like browsers do.
        ("iso-8859-1", "“quoted” €".encode("cp1252"), "“quoted” €"),
        ("x-unknown-charset", "Grüße".encode(), "Grüße"),
        ("x-unknown-charset", "Grüße".encode("cp1252"), "Grüße"),
        ("utf-8", b"broken \xff\xfe utf-8", "broken ÿþ utf-8"),
        ("us-ascii", "naïve".encode("cp1252"), "naïve"),
    ],
)
def test_odd_charsets_are_decoded_without_crashing(charset, body, expected) -> None:  # type: ignore[no-untyped-def]
    raw = _raw(f"Content-Type: text/plain; charset={charset}", "Subject: x", body=body)
    assert mail_parsing.parse_message(raw).text == expected


def test_encoded_subjects_are_decoded() -> None:
    raw = _raw(
        "Subject: =?iso-8859-1?q?Gr=FC=DFe?= =?utf-8?b?4oKsIGFuZCDinJM=?=",
        "Content-Type: text/plain; charset=utf-8",
    )
    assert mail_parsing.parse_message(raw).subject == "Grüße€ and ✓"


def test_an_encoded_subject_in_an_unknown_charset_does_not_crash() -> None:
    parsed = mail_parsing.parse_message(_raw("Subject: =?x-bogus?q?caf=E9?= ok"))
    assert parsed.subject.endswith("ok")
    parsed.subject.encode("utf-8")  # no lone surrogates left


def test_control_characters_leave_the_subject() -> None:
    parsed = mail_parsing.parse_message(_raw("Subject: bell\x07 and\ttab"))
    assert parsed.subject == "bell and tab"


def test_attachments_are_extracted_with_safe_names() -> None:
    message = EmailMessage()
    message["From"] = "rita@acme.test"
    message.set_content("See attached.")
    message.add_attachment(b"%PDF-1.4 report", maintype="application", subtype="pdf",
                           filename="../../etc/report.pdf")  # fmt: skip
    message.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream",
                           filename="C:\\temp\\setup.exe")  # fmt: skip
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png")
    parsed = mail_parsing.parse_message(message.as_bytes())
    assert parsed.text == "See attached."
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("report.pdf", "application/pdf", b"%PDF-1.4 report"),
        ("setup.exe", "application/octet-stream", b"MZ\x90\x00"),
        ("attachment-4.png", "image/png", b"\x89PNG"),
    ]


def test_an_attached_message_is_one_attachment() -> None:
    inner = EmailMessage()
    inner["From"] = "someone@example.test"
    inner["Subject"] = "Forwarded"
    inner.set_content("the original")
    outer = EmailMessage()
    outer["From"] = "rita@acme.test"
    outer.set_content("FYI")
    outer.add_attachment(inner)
    parsed = mail_parsing.parse_message(outer.as_bytes())
    assert parsed.text == "FYI"
    assert len(parsed.attachments) == 1
    assert parsed.attachments[0].content_type == "message/rfc822"
    assert b"the original" in parsed.attachments[0].content


@pytest.mark.parametrize(
    ("filename", "content_type", "content", "reason"),
    [
        ("report.pdf", "application/pdf", b"%PDF", None),
        ("setup.exe", "application/octet-stream", b"x", "executable"),
        ("invoice.pdf.js", "text/plain", b"x", "executable"),
        ("run.BAT", "text/plain", b"x", "executable"),
        ("innocent.txt", "application/x-msdownload", b"x", "executable"),
        ("renamed.pdf", "application/pdf", b"MZ\x90\x00", "executable"),
        ("big.zip", "application/zip", b"x" * (2 * MB + 1), "larger than 2 MB"),
        ("empty.txt", "text/plain", b"", "empty"),
    ],
)
def test_attachment_refusals(filename, content_type, content, reason) -> None:  # type: ignore[no-untyped-def]
    refusal = mail_parsing.attachment_refusal(filename, content_type, content, max_bytes=2 * MB)
    assert (refusal is None) if reason is None else (reason in (refusal or ""))


@pytest.mark.parametrize(
    ("headers", "envelope_from", "reason", "kind"),
    [
        ({"auto-submitted": "auto-replied"}, "a@b.test", "Auto-Submitted", "automatic"),
        ({"auto-submitted": "auto-generated; owner-email=x"}, "a@b.test", "Auto-Sub", "automatic"),
        ({"x-autoreply": "yes"}, "a@b.test", "X-Autoreply", "automatic"),
        ({"x-autorespond": "1"}, "a@b.test", "X-Autorespond", "automatic"),
        ({"precedence": "auto_reply"}, "a@b.test", "Precedence", "automatic"),
        ({"precedence": "bulk"}, "a@b.test", "Precedence: bulk", "bulk"),
        ({"precedence": "junk"}, "a@b.test", "Precedence: junk", "bulk"),
        ({"precedence": "list"}, "a@b.test", "Precedence: list", "bulk"),
        ({"list-id": "<printers.acme.test>"}, "a@b.test", "List-Id", "bulk"),
        ({"list-unsubscribe": "<mailto:u@x.test>"}, "a@b.test", "List-Unsubscribe", "bulk"),
        ({"x-tandem-loop": "desk.test"}, "a@b.test", "loop", "loop"),
        ({"content-type": "multipart/report; report-type=delivery-status"}, "", "report", "bounce"),
        (
            {"content-type": "multipart/report; report-type=disposition-notification"},
            "a@b.test",
            "read receipt",
            "automatic",
        ),  # fmt: skip
        ({"subject": "Undeliverable: Printer"}, "", "delivery failure", "bounce"),
        (
            {"subject": "Undeliverable: x", "from": "MAILER-DAEMON@mx.test"},
            "a@b.test",
            "MAILER-DAEMON",
            "bounce",
        ),  # fmt: skip
        (
            {"subject": "メール送信エラー通知", "from": "postmaster@docomo.test"},
            "a@b.test",
            "failure notice",
            "bounce",
        ),  # fmt: skip
        ({"subject": "Your message", "from": "no-reply@mail.test"}, "a@b.test", "text", "bounce"),
    ],
)
def test_automatic_mail_is_recognised(headers, envelope_from, reason, kind) -> None:  # type: ignore[no-untyped-def]
    text = "Delivery to the following recipient failed permanently: x@y.test"
    found = mail_parsing.automatic_mail(
        headers, envelope_from, text=text if "Your" in str(headers) else ""
    )
    assert reason.lower() in found[0].lower()
    assert found[1] == kind


@pytest.mark.parametrize(
    "subject",
    [
        "Auto reply: Printer",
        "Automatic reply: Printer",
        "Out of Office: Printer",
        "Out of Office",
        "Abwesenheitsnotiz: Drucker",
        "Automatische Antwort: Drucker",
        "Réponse automatique : Imprimante",
        "Respuesta automática: Impresora",
        "Risposta automatica: Stampante",
        "Automatisch antwoord: Printer",
        "Autosvar: Skrivare",
        "Automatisk svar: Skriver",
        "自動応答: プリンター",
    ],
)
def test_auto_reply_subjects_in_the_usual_languages(subject: str) -> None:
    reason, kind = mail_parsing.automatic_mail({"subject": subject}, "someone@b.test")
    assert kind == "automatic", subject
    assert subject[:10] in reason


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"auto-submitted": "no"},
        {"precedence": "normal"},
        {"return-path": "<a@b.test>"},
        # An empty return path or postmaster@ alone: people write from there too.
        {"return-path": "<>", "subject": "Printer on the 3rd floor"},
        {"from": "postmaster@acme.test", "subject": "Renew the mail certificate"},
        # A person forwarding an auto-reply or a bounce wants a ticket.
        {"subject": "Fwd: Automatic reply: Printer"},
        {"subject": "Fwd: Undeliverable: invoice", "from": "postmaster@acme.test"},
        {"subject": "Out of office next week: who covers the printer?"},
        {"subject": "Undeliverable invoices in the ERP"},
    ],
)
def test_mail_a_person_wrote_is_not_automatic(headers) -> None:  # type: ignore[no-untyped-def]
    assert mail_parsing.automatic_mail(headers, "rita@acme.test") == ("", "")


def test_a_recorded_dmarc_failure_is_noticed() -> None:
    forged = mail_parsing.parse_message(
        _raw("Authentication-Results: mx.acme.test; spf=fail; dmarc=fail (p=reject) header.from=x")
    )
    assert "DMARC" in forged.auth_failure
    genuine = mail_parsing.parse_message(
        _raw("Authentication-Results: mx.acme.test; spf=pass; dkim=pass; dmarc=pass")
    )
    assert genuine.auth_failure == ""


def test_threading_headers_are_collected_newest_first() -> None:
    parsed = mail_parsing.parse_message(
        _raw(
            "In-Reply-To: <c@desk.test>",
            "References: <a@desk.test> <b@desk.test>\r\n <c@desk.test>",
        )
    )
    assert parsed.replied_to == ("<c@desk.test>", "<b@desk.test>", "<a@desk.test>")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("acme@desk.test", mail_parsing.DeskAddress("acme")),
        ("ACME+42@Desk.Test", mail_parsing.DeskAddress("acme", 42)),
        ("Acme Desk <acme+7@desk.test>", mail_parsing.DeskAddress("acme", 7)),
        ("acme@other.test", None),
        ("acme+x@desk.test", None),
        ("-acme@desk.test", None),
        ("not an address", None),
    ],
)
def test_desk_addresses(address, expected) -> None:  # type: ignore[no-untyped-def]
    assert mail_parsing.parse_desk_address(address, "desk.test") == expected


def test_subject_references_name_the_tenant() -> None:
    assert mail_parsing.subject_reference("Re: [acme#42] Printer", "acme") == 42
    assert mail_parsing.subject_reference("Re: [ACME#42] Printer", "acme") == 42
    assert mail_parsing.subject_reference("Re: [globex#42] Printer", "acme") is None
    assert mail_parsing.subject_reference("Fwd: [globex#1] [acme#3]", "acme") == 3
    assert mail_parsing.subject_reference("Printer #42", "acme") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Works now, thanks!\n\nOn Tue, 1 Dec 2026 at 10:00, Acme Desk <acme+1@desk.test> "
            "wrote:\n> Please reboot.\n> Regards",
            "Works now, thanks!",
        ),
        (
            "Works now.\n\nOn Tue, 1 Dec 2026 at 10:00, Acme Desk <\nacme+1@desk.test> wrote:\n"
            "> Please reboot.",
            "Works now.",
        ),
        (
            "Still broken.\n\n-----Original Message-----\nFrom: Desk\nSent: Tuesday\n\nReboot.",
            "Still broken.",
        ),
        (
            "Still broken.\n\n________________________________\nFrom: Desk\nSent: Tuesday",
            "Still broken.",
        ),
        ("Done.\n\nFrom: Acme Desk <acme@desk.test>\nSent: Tuesday\nSubject: x", "Done."),
        ("Danke!\n\nAm 01.12.2026 um 10:00 schrieb Acme Desk:\n> Bitte neu starten.", "Danke!"),
        ("> Did it work?\nYes.\n> And the printer?\nAlso yes.", "Yes.\nAlso yes."),
        ("> only quoted text", "> only quoted text"),
        ("On Monday the backup failed again.", "On Monday the backup failed again."),
    ],
)
def test_quoted_replies_are_trimmed(text, expected) -> None:  # type: ignore[no-untyped-def]
    assert mail_text.trim_quoted_reply(text) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"\x00\xff\xfe garbage \x01\x02", "no headers"),
        (b"Subject: no sender\r\n\r\nhello", "no sender"),
        (b"From: <<<>>>@@\r\nSubject: x\r\n\r\nhello", "no sender"),
    ],
)
def test_what_is_not_an_email_is_refused_with_a_reason(raw, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(mail_parsing.UnparseableMail, match=problem):
        mail_parsing.parse_message(raw)


def test_broken_mime_is_worked_around() -> None:
    raw = _raw(
        'Content-Type: multipart/mixed; boundary="missing"',
        "Subject: broken",
        body=b"no boundary anywhere\r\n",
    )
    parsed = mail_parsing.parse_message(raw)
    assert parsed.subject == "broken"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_either_parse_or_are_refused_cleanly(raw: bytes) -> None:
    try:
        parsed = mail_parsing.parse_message(b"From: rita@acme.test\r\n" + raw)
    except mail_parsing.UnparseableMail:
        return
    parsed.text.encode("utf-8")
    parsed.subject.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_trimming_never_loses_everything(text: str) -> None:
    trimmed = mail_text.trim_quoted_reply(text)
    assert bool(trimmed) == bool(mail_text.clean_body(text))


def test_safe_filenames_are_short_and_plain() -> None:
    long_name = "a" * 400 + ".pdf"
    assert mail_parsing.safe_filename(long_name, "application/pdf", 1).endswith(".pdf")
    assert (
        len(mail_parsing.safe_filename(long_name, "application/pdf", 1))
        <= mail_parsing.MAX_FILENAME
    )
    assert mail_parsing.safe_filename("bad\x00name.txt", "text/plain", 1) == "bad name.txt"
    assert mail_parsing.safe_filename(None, "application/pdf", 3) == "attachment-3.pdf"
    assert mail_parsing.safe_filename("...", "application/x-unknown", 2) == "attachment-2.bin"


def _uuencoded(name: str, content: bytes) -> str:
    lines = [f"begin 644 {name}"]
    for start in range(0, len(content), 45):
        lines.append(binascii.b2a_uu(content[start : start + 45]).decode().rstrip("\n"))
    return "\n".join([*lines, "`", "end"])


def test_a_uuencoded_body_becomes_a_file() -> None:
    content = bytes(range(256)) * 3
    body = f"Scan attached.\n\n{_uuencoded('scan 01.pdf', content)}\n\nRegards\n"
    parsed = mail_parsing.parse_message(_raw("Subject: scan", body=body.encode()))
    assert parsed.text == "Scan attached.\n\nRegards"
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("scan 01.pdf", "application/pdf", content)
    ]


def test_a_uuencoded_block_that_never_ends_stays_text() -> None:
    body = "begin 644 x.txt\nM86)C\nno end here\n"
    parsed = mail_parsing.parse_message(_raw("Subject: x", body=body.encode()))
    assert parsed.attachments == ()
    assert "begin 644 x.txt" in parsed.text


def test_a_uuencoded_transfer_encoding_is_a_file() -> None:
    raw = _raw(
        "Subject: uu",
        "Content-Type: text/plain; name=notes.txt",
        "Content-Transfer-Encoding: x-uuencode",
        body=_uuencoded("notes.txt", b"hello uu").encode(),
    )
    parsed = mail_parsing.parse_message(raw)
    assert [(a.filename, a.content) for a in parsed.attachments] == [("notes.txt", b"hello uu")]


def test_message_partial_is_not_an_attachment() -> None:
    raw = _raw(
        "Subject: big file (part 2/3)",
        'Content-Type: message/partial; id="abc@x.test"; number=2; total=3',
        body=b"...the middle of a message...",
    )
    parsed = mail_parsing.parse_message(raw)
    assert parsed.attachments == ()
    assert "Part 2 of 3" in parsed.text


DIGEST = b"""From: printers-request@lists.acme.test
To: acme@desk.test
Subject: Printers digest, Vol 3, Issue 7
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=us-ascii

Today's topics: 1. Jam  2. Toner

--outer
Content-Type: multipart/digest; boundary="inner"

--inner

From: user1@acme.test
Subject: Jam

Jam number 1.

--inner
Content-Type: message/rfc822

From: user2@acme.test
Subject: Toner

Toner is low.

--inner--

--outer--
"""


def test_a_digests_messages_are_text_not_attachments() -> None:
    parsed = mail_parsing.parse_message(DIGEST.replace(b"\n", b"\r\n"))
    assert parsed.attachments == ()
    assert parsed.text == (
        "Today's topics: 1. Jam  2. Toner\n\n"
        "--- user1@acme.test: Jam ---\nJam number 1.\n\n"
        "--- user2@acme.test: Toner ---\nToner is low."
    )


@pytest.mark.parametrize("kind", [kind.value for kind in MailKind])
def test_every_kind_of_mail_has_its_built_in_templates(kind: str) -> None:
    """A kind without a subject and a body template fails only when its first mail is sent,
    in the worker: the "reopened" notice once did."""
    engine = Engine(app_dirs=True)  # the app templates, as the desk's mail engine reads them
    assert engine.get_template(f"servicedesk/mail/{kind}.subject.txt")
    assert engine.get_template(f"servicedesk/mail/{kind}.body.txt")
