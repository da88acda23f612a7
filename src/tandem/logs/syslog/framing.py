"""Syslog over TCP/TLS: splitting a byte stream into messages (RFC 6587, decision 0036).

Both framings are accepted on one connection, decided per message by its first byte:
a non-zero digit starts octet counting (`LEN SP MSG`, RFC 6587 §3.4.1, RFC 5425 §4.3);
anything else is non-transparent framing, the message ending at LF (or NUL, which some
senders use) (§3.4.2). A message starting with a digit but not followed by `LEN SP` is read
as an LF-framed one, so a stray line does not swallow the stream.

A message over the size limit is reported (`oversized`) and skipped up to the next frame;
the connection goes on. Bytes are decoded as UTF-8 with U+FFFD for what is not, and the
message is flagged so the caller counts it (`invalid_utf8`): the event is kept, since losing
a security log line for one bad byte is worse than showing a replacement character.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_MESSAGE = 64 * 1024
_MAX_LEN_DIGITS = 10
_TERMINATORS = (0x0A, 0x00)  # LF, NUL
_SKIP_BETWEEN = b"\r\n\x00"


@dataclass(frozen=True, slots=True)
class FrameError:
    """A frame that yields no message: `oversized` (skipped) or `truncated` (the stream ended
    inside an octet-counted frame). `size` is the announced or seen length."""

    reason: str
    size: int


class FrameDecoder:
    """Incremental decoder for one connection: `feed()` bytes as they arrive, `close()` at
    end of stream. Each returns the complete messages (bytes) and frame errors, in order."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.max_message = max_message
        self._buf = bytearray()
        self._octets: int | None = None  # length of the octet-counted frame being read
        self._discard = 0  # bytes of an oversized octet-counted frame still to skip
        self._discard_line = False  # skipping an oversized LF-framed message to its end

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        self._buf += data
        out: list[bytes | FrameError] = []
        while self._step(out):
            pass
        return out

    def close(self) -> list[bytes | FrameError]:
        """End of stream: an unterminated LF-framed message is still a message; a cut-off
        octet-counted one is reported as truncated."""
        out: list[bytes | FrameError] = []
        if self._discard:
            self._discard = 0
        elif self._octets is not None:
            out.append(FrameError("truncated", self._octets))
        elif self._buf.strip(_SKIP_BETWEEN) and not self._discard_line:
            out.append(bytes(self._buf.rstrip(_SKIP_BETWEEN)))
        self._buf.clear()
        self._octets = None
        self._discard_line = False
        return out

    def _step(self, out: list[bytes | FrameError]) -> bool:
        """Take at most one frame off the buffer; False when more bytes are needed."""
        buf = self._buf
        if self._discard:
            cut = min(self._discard, len(buf))
            del buf[:cut]
            self._discard -= cut
            return bool(buf) and not self._discard
        if self._discard_line:
            end = _find_terminator(buf, 0)
            if end < 0:
                buf.clear()
                return False
            del buf[: end + 1]
            self._discard_line = False
            return True
        if self._octets is not None:
            if len(buf) < self._octets:
                return False
            out.append(bytes(buf[: self._octets]))
            del buf[: self._octets]
            self._octets = None
            return True
        # At a frame boundary: skip the LF/CR/NUL some senders put between frames.
        start = 0
        while start < len(buf) and buf[start] in _SKIP_BETWEEN:
            start += 1
        if start:
            del buf[:start]
        if not buf:
            return False
        if 0x31 <= buf[0] <= 0x39:  # 1-9: maybe octet counting
            i = 1
            while i < len(buf) and i <= _MAX_LEN_DIGITS and 0x30 <= buf[i] <= 0x39:
                i += 1
            if i == len(buf) and i <= _MAX_LEN_DIGITS:
                return False  # the length is not complete yet
            if i < len(buf) and buf[i] == 0x20 and i <= _MAX_LEN_DIGITS:
                length = int(buf[:i])
                del buf[: i + 1]
                if length > self.max_message:
                    out.append(FrameError("oversized", length))
                    self._discard = length
                else:
                    self._octets = length
                return True
        return self._lf_frame(out)

    def _lf_frame(self, out: list[bytes | FrameError]) -> bool:
        buf = self._buf
        end = _find_terminator(buf, 0)
        if end < 0:
            if len(buf) > self.max_message:
                out.append(FrameError("oversized", len(buf)))
                buf.clear()
                self._discard_line = True
            return False
        if end > self.max_message:
            out.append(FrameError("oversized", end))
        else:
            out.append(bytes(buf[:end]).rstrip(b"\r"))
        del buf[: end + 1]
        return True


def _find_terminator(buf: bytearray, start: int) -> int:
    found = [i for i in (buf.find(t, start) for t in _TERMINATORS) if i >= 0]
    return min(found) if found else -1


def decode_message(data: bytes) -> tuple[str, bool]:
    """The text of one message and whether it was invalid UTF-8 (decoded with U+FFFD)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True
