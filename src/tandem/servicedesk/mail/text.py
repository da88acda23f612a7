"""Plain text out of mail bodies: charsets, HTML, quoted replies."""

from __future__ import annotations

import codecs
import contextlib
import re
from html.parser import HTMLParser

# --- Text ---------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Labels that in practice mean Windows-1252 (as browsers treat them, per WHATWG).
_AS_WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii"}


def decode_text(payload: bytes, charset: str | None) -> str:
    """Decode a text part whatever its label says: the declared charset if it is real and
    fits, else UTF-8, else Windows-1252 with replacement characters. Never raises."""
    label = (charset or "").strip().strip('"').lower()
    candidates: list[str] = []
    if label in _AS_WINDOWS_1252:
        candidates.append("windows-1252")
    elif label:
        with contextlib.suppress(LookupError):
            candidates.append(codecs.lookup(label).name)
    candidates += ["utf-8", "windows-1252"]
    for encoding in candidates:
        try:
            return payload.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode(candidates[0], errors="replace")


def clean_line(value: str, max_length: int) -> str:
    """One line: no control characters, no lone surrogates, whitespace collapsed."""
    value = unescape(value)
    value = " ".join(_CONTROL.sub(" ", value).split())
    return value[:max_length]


def clean_body(value: str) -> str:
    """Text with Unix newlines, no control characters, at most one blank line in a row."""
    value = unescape(value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value.replace("\t", "    "))
    lines = [line.rstrip() for line in value.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


#: Blocks that start on a new line, and those that also stand apart by a blank line.
_LINE_TAGS = frozenset(
    {"address", "article", "aside", "dd", "div", "dt", "footer", "form", "header", "li",
     "main", "nav", "section", "tr", "figcaption", "fieldset"}
)  # fmt: skip
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "hr", "figure"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "title", "template", "noscript"})
_LINE, _PARAGRAPH = "\x01", "\x02"
_QUOTE_OPEN, _QUOTE_CLOSE = "\x00quote+\x00", "\x00quote-\x00"
_BREAKS = re.compile(r"[ \t]*[\x01\x02][\x01\x02 \t\n]*")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.link: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "blockquote":
            self.parts.append(f"{_PARAGRAPH}{_QUOTE_OPEN}{_PARAGRAPH}")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append(f"{_LINE}- ")
        elif tag in _LINE_TAGS:
            self.parts.append(_LINE)
        elif tag in _PARAGRAPH_TAGS:
            self.parts.append(_PARAGRAPH)
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")
        if tag == "pre":
            self.pre += 1
        if tag == "a":
            self.link = dict(attrs).get("href") or None
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.parts.append(f"{_PARAGRAPH}{_QUOTE_CLOSE}{_PARAGRAPH}")
        elif tag in _LINE_TAGS:
            self.parts.append(_LINE)
        elif tag in _PARAGRAPH_TAGS:
            self.parts.append(_PARAGRAPH)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag == "a" and self.link is not None:
            text = " ".join("".join(self.link_text).split())
            href = self.link
            if href.startswith(("http://", "https://")) and href != text:
                self.parts.append(f" <{href}>")
            self.link = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.link is not None:
            self.link_text.append(data)
        self.parts.append(data)


def _breaks(match: re.Match[str]) -> str:
    run = match.group(0)
    return "\n" * max(2 if _PARAGRAPH in run else 1, run.count("\n"))


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: scripts and styles dropped, blocks on their own
    lines, paragraphs apart, links kept as ``text <url>``, blockquotes quoted with ``>`` (so
    that the quoted part of an HTML reply is trimmed like a plain one)."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # the parser gives up on some broken markup
        pass
    text = _BREAKS.sub(_breaks, "".join(extractor.parts))
    depth = 0
    lines: list[str] = []
    for raw_line in text.split("\n"):
        if raw_line.strip() == _QUOTE_OPEN:
            depth += 1
        elif raw_line.strip() == _QUOTE_CLOSE:
            depth = max(0, depth - 1)
        else:
            line = raw_line.strip()
            lines.append("> " * depth + line if line else "")
    return clean_body("\n".join(lines))


_ON_WROTE_START = re.compile(r"^(on|am|le|el|op|il)\s.+", re.IGNORECASE)
_ON_WROTE_END = re.compile(r"\b(wrote|schrieb|a écrit|escribió|schreef|ha scritto)\b.*:\s*$", re.I)
_SEPARATORS = (
    re.compile(r"^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}$", re.I),  # noqa: E501
    re.compile(r"^-{2,}\s*forwarded message\s*-{2,}$", re.I),
    re.compile(r"^_{10,}$"),
)  # fmt: skip
_OUTLOOK_HEADER = re.compile(r"^(from|von|de)\s*:\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^(sent|gesendet|envoyé|date|datum|to|an|subject|betreff)\s*:", re.I)


def trim_quoted_reply(text: str) -> str:
    """The new part of a reply: everything above the quoted message.

    Stops at "On <date>, <someone> wrote:" (also split over two lines, and in a few
    languages), "-----Original Message-----", an Outlook "From: … Sent: …" block or a long
    underline, and drops lines quoted with ``>``. If nothing is left (a reply written
    entirely between the quoted lines' markers, say), the text is kept whole: trimming must
    never lose what someone wrote.
    """
    lines = clean_body(text).split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _ON_WROTE_START.match(stripped) and (
            _ON_WROTE_END.search(stripped)
            or (_ON_WROTE_END.search(following) and not following.startswith(">"))
        ):
            break
        if any(separator.match(stripped) for separator in _SEPARATORS):
            break
        if _OUTLOOK_HEADER.match(stripped) and _OUTLOOK_NEXT.match(following):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    trimmed = clean_body("\n".join(kept))
    return trimmed or clean_body(text)


# --- The message -------------------------------------------------------------------------------


def unescape(value: str) -> str:
    """Text as it can be stored and shown: the email package keeps bytes it could not
    decode as lone surrogates (``surrogateescape``); RFC 6532 allows raw UTF-8 in headers,
    so those bytes are read as UTF-8 (anything else becomes U+FFFD). Never raises."""
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that were not escaped bytes
        raw = value.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
