"""Reading e-mail for the service desk: plain functions over bytes and strings, no database.

``parse_message`` turns the raw bytes of one message into a :class:`ParsedMail` (sender,
subject, threading headers, readable text, attachments, and why it is an automatic reply if
it is one). It never lets a malformed message crash the caller: anything it cannot make sense
of raises :class:`UnparseableMail`, and the caller keeps the message for review.

The rest are small rules the inbound processing and the outgoing notifications share: the
desk addresses (``acme@desk.example``, ``acme+42@desk.example``), the subject reference
(``[acme#42]``), trimming the quoted text out of a reply, and which attachments are refused.
"""

from __future__ import annotations

import binascii
import email
import logging
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from flufl.bounce import all_failures

from tandem.servicedesk.mail.text import clean_body, clean_line, decode_text, html_to_text, unescape

#: The header our own outgoing mail carries; a message that has it came back to us.
LOOP_HEADER = "X-Tandem-Loop"

#: Files no desk should pass on: programs and scripts that run when opened.
REFUSED_EXTENSIONS = frozenset(
    {
        ".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".cpl", ".msi", ".msp", ".dll",
        ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".ps1", ".psm1", ".jar",
        ".lnk", ".reg", ".sh", ".app", ".apk",
    }
)  # fmt: skip
REFUSED_CONTENT_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-dosexec",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-executable",
        "application/javascript",
        "text/javascript",
        "application/x-sh",
        "application/java-archive",
    }
)
MAX_FILENAME = 150

_SLUG = r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?"
_SUBJECT_REFERENCE = re.compile(rf"\[({_SLUG})#(\d{{1,9}})\]", re.IGNORECASE)
_LOCAL_PART = re.compile(rf"^({_SLUG})(?:\+(\d{{1,9}}))?$")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,245}>")


class UnparseableMail(ValueError):
    """The bytes are not an e-mail Tandem can read; the message is kept for review."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class ParsedMail:
    """What the desk needs from one message, decoded and cleaned."""

    from_address: str
    from_name: str
    subject: str
    message_id: str
    #: Message-IDs this message answers (In-Reply-To first, then References, newest first).
    replied_to: tuple[str, ...]
    #: The whole text body (HTML converted to text), quoted parts included.
    text: str
    attachments: tuple[MailAttachment, ...] = ()
    #: Why this is an automatic message that must not open or touch a ticket ("" if it is not).
    auto_reason: str = ""
    #: Which kind of automatic mail (an ``InboundReason`` value: automatic, bounce, bulk,
    #: loop), "" if it is not.
    auto_kind: str = ""
    #: Why the sender is not who it claims to be, per the receiving server ("" if no sign).
    auth_failure: str = ""
    #: The addresses in To and Cc (lower case), to know who was on a conversation.
    recipients: tuple[str, ...] = ()
    #: Problems the parser worked around, for the review log.
    defects: tuple[str, ...] = field(default=())


# --- Addresses and references ------------------------------------------------------------------


@dataclass(frozen=True)
class DeskAddress:
    """``<tenant>@<domain>`` opens tickets; ``<tenant>+<number>@<domain>`` answers one."""

    tenant_slug: str
    ticket_number: int | None = None


def parse_desk_address(address: str, domain: str) -> DeskAddress | None:
    """The desk address ``address`` names, or None if it is not one of ``domain``'s."""
    _name, addr = parseaddr(address or "")
    local, at, host = addr.strip().lower().rpartition("@")
    if not at or host != domain.lower():
        return None
    match = _LOCAL_PART.match(local)
    if match is None:
        return None
    number = int(match.group(2)) if match.group(2) else None
    return DeskAddress(tenant_slug=match.group(1), ticket_number=number)


_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normal_domain(domain: str) -> str:
    """A mail domain as the desk compares them: lower case, without "@" or a trailing
    dot, internationalised labels in their Unicode form ("xn--mller-kva.example" and
    "müller.example" are the same). "" if it is not a domain name."""
    domain = (domain or "").strip().lower().lstrip("@").rstrip(".")
    try:
        ascii_form = domain.encode("idna").decode("ascii")
        labels = ascii_form.split(".")
        if len(labels) < 2 or len(ascii_form) > 253:
            return ""
        if not all(_HOSTNAME_LABEL.match(label) for label in labels):
            return ""
        return ascii_form.encode("ascii").decode("idna")
    except UnicodeError:
        return ""


def address_domain(address: str) -> str:
    """The normalised domain of an e-mail address ("" if it has none)."""
    _local, at, host = (address or "").rpartition("@")
    return normal_domain(host) if at else ""


def desk_address(tenant_slug: str, domain: str, ticket_number: int | None = None) -> str:
    local = tenant_slug if ticket_number is None else f"{tenant_slug}+{ticket_number}"
    return f"{local}@{domain}"


def ticket_reference(tenant_slug: str, ticket_number: int) -> str:
    """The reference every notification's subject carries: ``[acme#42]``."""
    return f"[{tenant_slug}#{ticket_number}]"


def subject_reference(subject: str, tenant_slug: str) -> int | None:
    """The ticket number of the first ``[<tenant_slug>#<n>]`` in ``subject``."""
    for match in _SUBJECT_REFERENCE.finditer(subject or ""):
        if match.group(1).lower() == tenant_slug.lower():
            return int(match.group(2))
    return None


def message_ids(value: str) -> tuple[str, ...]:
    """Every ``<id@host>`` in a Message-ID, In-Reply-To or References header, in order."""
    return tuple(_MESSAGE_ID.findall(value or ""))


# --- Automatic mail ------------------------------------------------------------------------------


#: The kinds of automatic mail (the values of ``choices.InboundReason`` they are kept as).
AUTOMATIC, BOUNCE, BULK, LOOP = "automatic", "bounce", "bulk", "loop"


def _folded(text: str) -> str:
    """Lower case, accents dropped, whitespace collapsed: "Réponse  automatique" and
    "reponse automatique" match the same rule."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", plain).split())


#: Subjects auto-responders put first, in the languages Outlook, Exchange, Gmail, Lotus,
#: Zimbra and Apple Mail use (folded: lower case, no accents), followed by a colon or
#: nothing. Only the start counts, so "Fwd: Automatic reply: ..." (a person forwarding one)
#: and "Out of office next week: who covers?" are mail.
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(?:"
    r"auto(?:matic|matische?|matisk|matico|matica)?[ -]?(?:reply|response|antwort|svar|"
    r"antwoord|respuesta|risposta|resposta|odpoved|odpowiedz|vastaus)"
    r"|autoreply|autoresponse|autosvar|autovastaus"
    r"|reponse automatique|respuesta automatica|risposta automatica|resposta automatica"
    r"|automatisch antwoord|automatische antwort|automatisk svar|automatisk besked"
    r"|automaticka odpoved|odpowiedz automatyczna|otomatik yanit|automaattinen vastaus"
    r"|abwesenheitsnotiz|absence du bureau|fuera de la oficina|fuori sede|niet aanwezig"
    r"|afwezig(?:heid)?|franvaro|poza biurem|on vacation|vacation reply|urlaubsabwesenheit"
    r"|out of (?:the )?office(?: (?:auto ?-?reply|reply|response|notice|autoresponse))?"
    r"|автоответ|автоматический ответ|自動応答|自動返信|自动回复|自動回覆|자동 응답"
    r")\s*(?::|$)",  # followed by ":" (and the original subject) or nothing
    re.IGNORECASE,
)
#: Subjects of delivery failure notices. Alone they prove nothing (a person may write
#: "Undeliverable invoices"); with a sign that a mail system sent it, they do.
_BOUNCE_SUBJECT = re.compile(
    r"^(?:undeliver(?:able|ed)|undelivered mail|delivery (?:status notification|failure|"
    r"failed|has failed|notification|problem)|mail delivery (?:failed|failure|system)|"
    r"returned mail|failure notice|non ?-?deliver(?:able|y)|mail (?:system )?error|"
    r"could not send message|message (?:not delivered|delivery failure)|"
    r"unzustellbar|nicht zustellbar|non remis|echec de (?:la )?remise|no se puede entregar|"
    r"no entregado|non recapitabile|mancato recapito|onbestelbaar|niet bezorgd|"
    r"olevererbart|kunne ikke leveres|nao entregue|niedostarczon"
    r"|.{0,20}(?:メール.{0,10}(?:エラー|不達|返送)|配信(?:エラー|失敗|不能)|送信エラー|不達))",
    re.IGNORECASE,
)
#: Body phrases of delivery failure notices, checked (with a mail system's sign) near the top.
_BOUNCE_TEXT = re.compile(
    r"could not be delivered|couldn.t be delivered|delivery (?:to the following recipients? )?"
    r"(?:has )?failed|permanent (?:fatal )?error|user unknown|mailbox (?:unavailable|full|"
    r"not found)|no such user|address rejected|\b5\.[0-9]\.[0-9]{1,3}\b|"
    r"unzustellbar|nicht zugestellt|n.a pas pu .tre remis|宛先.{0,20}(?:不明|エラー)|"
    r"送信できませんでした|届きませんでした|配信できませんでした",
    re.IGNORECASE,
)
#: Senders that are mail systems, not people.
_SYSTEM_SENDER = re.compile(
    r"^(?:mailer-daemon|mail-daemon|postmaster|mail-?delivery-?(?:subsystem|system)|"
    r"no-?reply|do-?not-?reply|donotreply|bounces?|bounce-[^@]*|mailer)@",
    re.IGNORECASE,
)
#: Subjects that forward or answer: a person sent them, whatever they quote.
_FORWARD_OR_REPLY = re.compile(r"^\s*(?:fwd?|fw|wg|tr|rv|i|re|aw|sv|antw|vs)\s*:", re.I)


# flufl.bounce logs every detector it runs at INFO: a dozen lines per message read.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)


def _is_flufl_bounce(raw: bytes) -> bool:
    """Whether ``flufl.bounce`` (Mailman's bounce detectors: RFC 3464 DSNs and the shapes of
    Exim, Postfix, qmail, Exchange, Yahoo, AOL, ...) finds failed recipients in it."""
    try:
        temporary, permanent = all_failures(email.message_from_bytes(raw))
    except Exception:  # noqa: BLE001 - a detector choking on odd mail proves nothing
        return False
    return bool(temporary or permanent)


def automatic_mail(
    headers: dict[str, str],
    envelope_from: str | None = None,
    *,
    text: str = "",
    raw: bytes | None = None,
) -> tuple[str, str]:
    """Why the message is automatic, and which kind (``automatic``, ``bounce``, ``bulk``,
    ``loop``), or ("", "") for mail a person wrote. ``headers`` maps lower-case names to
    decoded values; ``text`` is the readable body; ``raw`` the message for the bounce
    detectors.

    Such mail never opens a ticket or triggers a reply: answering an auto-responder with an
    acknowledgement that it answers again is how ticket storms start. It is kept, with the
    reason, on the mail review. Signs, in order: our own loop header; RFC 3834
    (``Auto-Submitted``) and the de-facto ``X-Autoreply`` family and ``Precedence``; RFC 3462
    reports; delivery failures as ``flufl.bounce`` reads them; a failure notice's subject or
    text from a mail system's address or with an empty return path; an auto-responder's
    subject in the usual languages; list and bulk mail (``List-Id``, ``List-Unsubscribe``).
    An empty return path or a ``postmaster@`` sender alone is not a sign: people write from
    there too, and RFC 3834 asks auto-responders for more.
    """
    get = headers.get
    if LOOP_HEADER.lower() in headers:
        return f"mail loop: the message carries our own {LOOP_HEADER} header", LOOP
    auto_submitted = get("auto-submitted", "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"automatic message (Auto-Submitted: {auto_submitted})", AUTOMATIC
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autogenerated"):
        if name in headers:
            return f"automatic reply ({name.title()} header)", AUTOMATIC
    precedence = get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return "automatic reply (Precedence: auto_reply)", AUTOMATIC
    content_type = get("content-type", "").strip().lower()
    if content_type.startswith("multipart/report"):
        if "delivery-status" in content_type:
            return "delivery status report (multipart/report)", BOUNCE
        return "automatic report (multipart/report, e.g. a read receipt)", AUTOMATIC
    subject = _folded(get("subject", ""))
    sender = parseaddr(get("from", ""))[1].lower()
    null_path = get("return-path", "x").strip() in ("<>", "") or (
        envelope_from is not None and envelope_from.strip() in ("", "<>")
    )
    system_sender = bool(_SYSTEM_SENDER.match(sender))
    forwarded = bool(_FORWARD_OR_REPLY.match(subject))
    if raw is not None and not forwarded and _is_flufl_bounce(raw):
        return "delivery failure notice (bounce)", BOUNCE
    if (system_sender or null_path) and not forwarded:
        why = f"from {sender}" if system_sender else "empty return path"
        if _BOUNCE_SUBJECT.match(subject):
            return f"delivery failure notice (subject, {why})", BOUNCE
        if _BOUNCE_TEXT.search(text[:3000]):
            return f"delivery failure notice (text, {why})", BOUNCE
    if _AUTO_REPLY_SUBJECT.match(subject):
        return f"automatic reply (subject: {get('subject', '')[:80]})", AUTOMATIC
    if precedence in ("bulk", "junk", "list"):
        return f"bulk or list mail (Precedence: {precedence})", BULK
    for name in ("list-id", "list-unsubscribe"):
        if name in headers:
            return f"bulk or list mail ({name.title()} header)", BULK
    return "", ""


_DMARC_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)


def authentication_failure(results: list[str]) -> str:
    """Why the sender's address is forged, going by the ``Authentication-Results`` headers
    the receiving mail servers added, or "" if none says so. Only a recorded DMARC failure
    counts: a forged "pass" gains a sender nothing, as a pass is not required (the
    organisation's MTA is expected to check senders before it relays to the desk)."""
    for value in results:
        if _DMARC_FAIL.search(value):
            return "sender authentication failed (DMARC fail in Authentication-Results)"
    return ""


# --- Attachments -------------------------------------------------------------------------------


def attachment_refusal(
    filename: str, content_type: str, content: bytes, *, max_bytes: int
) -> str | None:
    """Why a file may not be kept on a ticket, or None if it may."""
    suffixes = [s.lower() for s in PurePosixPath(filename.lower()).suffixes[-2:]]
    if any(s in REFUSED_EXTENSIONS for s in suffixes) or content_type in REFUSED_CONTENT_TYPES:
        return "executable files and scripts are not accepted"
    if content[:2] == b"MZ" or content[:4] == b"\x7fELF":
        return "executable files and scripts are not accepted"
    if len(content) > max_bytes:
        return f"larger than {max_bytes // (1024 * 1024) or 1} MB"
    if not content:
        return "the file is empty"
    return None


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """A file name without directories or control characters, at most 150 characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name if name else ""
    base = clean_line(base, 10_000).strip(". ")
    if not base:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        return f"attachment-{index}{extension}"
    if len(base) > MAX_FILENAME:
        stem, dot, suffix = base.rpartition(".")
        keep = suffix[:20] if dot else ""
        base = (stem if dot else base)[: MAX_FILENAME - len(keep) - 1] + (
            f".{keep}" if keep else ""
        )
    return base


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded value; a header the strict parser chokes on is read raw."""
    try:
        value = message.get(name)
        return "" if value is None else unescape(str(value))
    except Exception:  # noqa: BLE001 - the email package raises many kinds on bad headers
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                return unescape(str(raw))
        return ""


def _leaves(part: Any, inside_alternative: bool = False) -> Iterator[tuple[Any, bool]]:
    """(part, inside a multipart/alternative) for every non-container part, in order.
    An attached message (message/rfc822) is one leaf: it is kept whole, not unpacked; so is
    a multipart/digest (its messages are read as text)."""
    if part.get_content_maintype() == "multipart" and part.get_content_subtype() != "digest":
        alternative = inside_alternative or part.get_content_subtype() == "alternative"
        for sub in part.iter_parts():
            yield from _leaves(sub, alternative)
    else:
        yield part, inside_alternative


#: ``begin 644 name`` ... ``end``: a file uuencoded into the text (old mail programs,
#: scanners and scripts still send this).
_UU_BEGIN = re.compile(r"^begin [0-7]{3,4} (\S.*?)\s*$")
_UUENCODED_TRANSFER = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})


def _uu_line(line: str) -> bytes:
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders pad lines with garbage; the length character says what counts.
        count = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
        return binascii.a2b_uu(line[:count])


def extract_uuencoded(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The text without its uuencoded blocks, and the files they held (name, bytes). A
    block that does not decode or never ends stays in the text."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    files: list[tuple[str, bytes]] = []
    index = 0
    while index < len(lines):
        begin = _UU_BEGIN.match(lines[index])
        if begin is not None:
            data = bytearray()
            end = index + 1
            try:
                while end < len(lines) and lines[end].rstrip() != "end":
                    if lines[end]:
                        data += _uu_line(lines[end])
                    end += 1
            except (binascii.Error, IndexError):
                end = len(lines)
            if end < len(lines):
                files.append((begin.group(1), bytes(data)))
                index = end + 1
                continue
        kept.append(lines[index])
        index += 1
    return "\n".join(kept), files


def _digest_text(part: Any) -> str:
    """The messages of a multipart/digest (a list's digest) as text: each one's sender,
    subject and body. They are the substance, not files."""
    pieces: list[str] = []
    for sub in part.iter_parts():
        inner = sub.get_payload()
        message = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(message, Message):
            continue
        body = (
            message.get_body(preferencelist=("plain", "html"))
            if hasattr(message, "get_body")
            else None
        )
        text = _part_text(body) if body is not None else ""
        sender = unescape(str(message.get("From", "")))
        subject = unescape(str(message.get("Subject", "")))
        pieces.append(f"--- {sender}: {subject} ---\n{text}")
    return "\n\n".join(pieces)


def _part_text_and_files(part: Any) -> tuple[str, list[tuple[str, bytes]]]:
    """A text part's text and the uuencoded files in it (plain text only)."""
    if part.get_content_subtype() != "plain":
        return _part_text(part), []
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    text, files = extract_uuencoded(decode_text(payload, part.get_content_charset()))
    return clean_body(text), files


def _part_text(part: Any) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    text = decode_text(payload, part.get_content_charset())
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return clean_body(text)


def _part_bytes(part: Any) -> bytes:
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return bytes(inner[0].as_bytes(policy=policy.SMTP))
        return str(inner).encode("utf-8", "replace")
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return str(part.get_payload()).encode("utf-8", "replace")


def _sender(message: EmailMessage) -> tuple[str, str]:
    raw = _header(message, "From")
    try:
        header = message["From"]
        addresses = list(getattr(header, "addresses", ()) or ())
    except Exception:  # noqa: BLE001
        addresses = []
    if addresses and isinstance(addresses[0], Address) and addresses[0].domain:
        first = addresses[0]
        return unescape(first.addr_spec).lower(), clean_line(unescape(first.display_name), 200)
    pairs = getaddresses([raw])
    name, addr = pairs[0] if pairs else ("", "")
    return unescape(addr).strip().lower(), clean_line(unescape(name), 200)


def parse_message(raw: bytes, *, envelope_from: str | None = None) -> ParsedMail:
    """Read one message. Raises :class:`UnparseableMail` if it is not an e-mail at all or
    names no sender; everything else (odd charsets, broken MIME, HTML only) is worked
    around."""
    if not raw or not raw.strip():
        raise UnparseableMail("the message is empty")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001
        raise UnparseableMail(f"the message cannot be read as e-mail: {exc}") from exc
    assert isinstance(message, EmailMessage)
    if not list(message.keys()):
        raise UnparseableMail("the message has no headers: it is not an e-mail")
    try:
        return _read(message, envelope_from, raw)
    except UnparseableMail:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UnparseableMail(f"the message cannot be read: {type(exc).__name__}: {exc}") from exc


def _read(message: EmailMessage, envelope_from: str | None, raw: bytes) -> ParsedMail:
    from_address, from_name = _sender(message)
    if "@" not in from_address:
        raise UnparseableMail("the message names no sender address (From)")
    headers = {key.lower(): _header(message, key) for key in message}
    body_part = message.get_body(preferencelist=("plain", "html"))
    texts: list[str] = []
    attachments: list[MailAttachment] = []
    defects = [type(d).__name__ for d in message.defects]
    for index, (part, inside_alternative) in enumerate(_leaves(message), start=1):
        defects += [type(d).__name__ for d in part.defects]
        content_type = part.get_content_type()
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if content_type == "multipart/digest":
            texts.append(_digest_text(part))
            continue
        if content_type == "message/partial":
            # One piece of a message the sender's program split (RFC 2046 5.2.2): not a
            # file anyone can open; the raw message keeps it.
            number, total = part.get_param("number", "?"), part.get_param("total", "?")
            texts.append(
                f"[Part {number} of {total} of a message the sender's mail program split "
                "(message/partial); the piece is kept with the raw message.]"
            )
            continue
        transfer = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        is_text = content_type in ("text/plain", "text/html") and transfer not in (
            _UUENCODED_TRANSFER
        )
        if is_text and not filename and disposition != "attachment":
            text, files = _part_text_and_files(part)
            if part is body_part:
                texts.insert(0, text)
            elif not inside_alternative:
                texts.append(text)  # e.g. text after an inline attachment
            for name, content in files:
                attachments.append(
                    MailAttachment(
                        filename=safe_filename(name, "application/octet-stream", index),
                        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                        content=content,
                    )
                )
            continue
        attachments.append(
            MailAttachment(
                filename=safe_filename(filename, content_type, index),
                content_type=content_type,
                content=_part_bytes(part),
            )
        )
    text = clean_body("\n\n".join(t for t in texts if t))
    auto_reason, auto_kind = automatic_mail(headers, envelope_from, text=text, raw=raw)
    references = message_ids(headers.get("in-reply-to", ""))
    references += tuple(reversed(message_ids(headers.get("references", ""))))
    ids = message_ids(headers.get("message-id", ""))
    recipients = tuple(
        dict.fromkeys(
            addr.strip().lower()
            for _name, addr in getaddresses([headers.get("to", ""), headers.get("cc", "")])
            if "@" in addr
        )
    )
    return ParsedMail(
        recipients=recipients,
        from_address=from_address,
        from_name=from_name,
        subject=clean_line(headers.get("subject", ""), 500),
        message_id=ids[0] if ids else "",
        replied_to=tuple(dict.fromkeys(references)),
        text=text,
        attachments=tuple(attachments),
        auto_reason=auto_reason,
        auto_kind=auto_kind,
        auth_failure=authentication_failure(
            [str(v) for v in message.get_all("Authentication-Results", [])]
        ),
        defects=tuple(dict.fromkeys(defects)),
    )
