"""RFC 6587 framing: both framings on one stream, split anywhere, limits that keep going."""

from __future__ import annotations

import random

from tandem.logs.syslog.framing import FrameDecoder, FrameError, decode_message


def octet(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg


def feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list:
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def test_both_framings_mixed_on_one_stream():
    stream = (
        octet(b"<13>1 - h a - - - first")
        + b"<13>Jun 15 11:00:00 h app: second\n"
        + octet(b"<13>1 - h a - - - third\nwith a newline inside")
        + b"<13>fourth ends with NUL\x00"
        + b"<13>fifth with CRLF\r\n"
    )
    assert feed_all(FrameDecoder(), [stream]) == [
        b"<13>1 - h a - - - first",
        b"<13>Jun 15 11:00:00 h app: second",
        b"<13>1 - h a - - - third\nwith a newline inside",
        b"<13>fourth ends with NUL",
        b"<13>fifth with CRLF",
    ]


def test_any_split_gives_the_same_messages():
    messages = [f"<14>1 - h app - - - message {i} ".encode() + b"x" * i for i in range(40)]
    stream = b"".join(octet(m) if i % 2 else m + b"\n" for i, m in enumerate(messages))
    rng = random.Random(7)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(stream)), 30))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert feed_all(FrameDecoder(), chunks) == messages
    # and byte by byte
    assert feed_all(FrameDecoder(), [bytes([b]) for b in stream]) == messages


def test_oversized_octet_frame_is_skipped_and_the_stream_goes_on():
    big = b"<13>" + b"A" * 5000
    stream = octet(b"<13>before") + octet(big) + octet(b"<13>after")
    decoder = FrameDecoder(max_message=1024)
    out = feed_all(decoder, [stream[i : i + 700] for i in range(0, len(stream), 700)])
    assert out == [b"<13>before", FrameError("oversized", len(big)), b"<13>after"]


def test_oversized_lf_message_is_skipped_to_the_next_line():
    stream = b"<13>before\n" + b"<13>" + b"B" * 5000 + b"\n<13>after\n"
    out = feed_all(
        FrameDecoder(max_message=1024), [stream[i : i + 300] for i in range(0, len(stream), 300)]
    )
    assert out[0] == b"<13>before" and out[-1] == b"<13>after"
    assert [type(x) for x in out[1:-1]] == [FrameError]
    assert out[1].reason == "oversized"


def test_digit_start_without_length_is_a_line():
    assert feed_all(FrameDecoder(), [b"2031-06-15T10:00:00Z host app: x\n"]) == [
        b"2031-06-15T10:00:00Z host app: x"
    ]
    assert feed_all(FrameDecoder(), [b"123456789012345 not a length\n"]) == [
        b"123456789012345 not a length"
    ]


def test_end_of_stream():
    assert FrameDecoder().feed(b"<13>no newline at the end") == []
    decoder = FrameDecoder()
    decoder.feed(b"<13>no newline at the end")
    assert decoder.close() == [b"<13>no newline at the end"]
    decoder = FrameDecoder()
    decoder.feed(b"50 <13>cut short")
    assert decoder.close() == [FrameError("truncated", 50)]


def test_blank_lines_between_frames_are_not_messages():
    assert feed_all(FrameDecoder(), [b"\n\r\n<13>a\n\n\n" + octet(b"<13>b") + b"\n"]) == [
        b"<13>a",
        b"<13>b",
    ]


def test_decode_message_flags_invalid_utf8_and_keeps_the_text():
    assert decode_message("<13>grüße".encode()) == ("<13>grüße", False)
    text, invalid = decode_message(b"<13>caf\xe9 latin-1")
    assert invalid and text == "<13>caf\ufffd latin-1"
