"""The syslog parser on both RFCs' own examples and on what real devices send."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from tandem.logs.syslog.parse import Malformed, SyslogMessage, parse_syslog

UTC = dt.UTC
# A fixed receive time: the parser's only clock is the one it is given.
RECEIVED = dt.datetime(2031, 6, 15, 12, 0, 0, tzinfo=UTC)


def parse(line: str, **kwargs: object) -> SyslogMessage:
    kwargs.setdefault("received_at", RECEIVED)
    result = parse_syslog(line, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, SyslogMessage), result
    return result


# --- RFC 5424 ------------------------------------------------------------------------------


def test_rfc5424_example_1_nil_procid_and_bom():
    msg = parse(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
        "\ufeff'su root' failed for lonvick on /dev/pts/8"
    )
    assert msg.format == "rfc5424"
    assert (msg.facility, msg.severity, msg.version) == (4, 2, 1)
    assert msg.facility_name == "auth" and msg.severity_name == "crit"
    assert msg.timestamp == dt.datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert msg.hostname == "mymachine.example.com"
    assert (msg.appname, msg.procid, msg.msgid) == ("su", None, "ID47")
    assert msg.structured_data == {}
    assert msg.message == "'su root' failed for lonvick on /dev/pts/8"  # BOM removed


def test_rfc5424_example_2_offset_and_microseconds():
    msg = parse(
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
        "%% It's time to make the do-nuts."
    )
    assert msg.timestamp == dt.datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC)
    assert (msg.facility_name, msg.severity_name) == ("local4", "notice")
    assert (msg.hostname, msg.appname, msg.procid, msg.msgid) == (
        "192.0.2.1",
        "myproc",
        "8710",
        None,
    )
    assert msg.message == "%% It's time to make the do-nuts."


def test_rfc5424_example_3_structured_data_and_message():
    msg = parse(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] '
        "\ufeffAn application event log entry..."
    )
    assert msg.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    assert msg.message == "An application event log entry..."


def test_rfc5424_example_4_several_elements_no_message():
    msg = parse(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
        '[examplePriority@32473 class="high"]'
    )
    assert set(msg.structured_data) == {"exampleSDID@32473", "examplePriority@32473"}
    assert msg.structured_data["examplePriority@32473"] == {"class": "high"}
    assert msg.message == ""


def test_rfc5424_escapes_in_param_values_and_repeated_params():
    msg = parse(
        r'<14>1 2031-06-15T11:59:00+02:00 host app 1 - [x@1 a="say \"hi\"" '
        r'b="back\\slash" c="close\]bracket" d="keep\nas is" ip="1" ip="2"] body'
    )
    assert msg.structured_data["x@1"] == {
        "a": 'say "hi"',
        "b": "back\\slash",
        "c": "close]bracket",
        "d": "keep\\nas is",
        "ip": ["1", "2"],
    }
    assert msg.message == "body"
    assert msg.timestamp == dt.datetime(2031, 6, 15, 9, 59, tzinfo=UTC)


def test_rfc5424_nil_timestamp_uses_receive_time():
    msg = parse("<13>1 - - - - - - hello")
    assert msg.timestamp == RECEIVED and msg.time_source == "received"
    assert msg.hostname is None and msg.message == "hello"


def test_rfc5424_nanosecond_fraction_is_truncated():
    msg = parse("<13>1 2031-06-15T10:00:00.123456789Z h a - - - x")
    assert msg.timestamp.microsecond == 123456


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('<13>1 2031-06-15T10:00:00Z h a - - [x@1 a="unterminated] msg', "bad_structured_data"),
        ("<13>1 2031-06-15T10:00:00Z h a - - [x@1 a=noquotes] msg", "bad_structured_data"),
        ("<13>1 2031-13-45T10:00:00Z h a - - - msg", "bad_timestamp"),
    ],
)
def test_broken_rfc5424_is_malformed_with_reason(line, reason):
    result = parse_syslog(line, received_at=RECEIVED)
    assert isinstance(result, Malformed) and result.reason == reason


# --- RFC 3164 ------------------------------------------------------------------------------


def test_rfc3164_example_su():
    msg = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert msg.format == "rfc3164"
    assert (msg.facility_name, msg.severity_name) == ("auth", "crit")
    # October, received in June 2031: the closest October is last year's.
    assert msg.timestamp == dt.datetime(2030, 10, 11, 22, 14, 15, tzinfo=UTC)
    assert (msg.hostname, msg.appname, msg.procid) == ("mymachine", "su", None)
    assert msg.message == "'su root' failed for lonvick on /dev/pts/8"


def test_rfc3164_example_ip_hostname_without_tag():
    msg = parse("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!")
    assert msg.hostname == "10.0.0.99"
    assert msg.appname is None and msg.message == "Use the BFG!"


def test_tag_with_pid_sshd():
    msg = parse(
        "<38>Jun 15 11:58:01 web01 sshd[4121]: Failed password for invalid user admin "
        "from 203.0.113.9 port 52113 ssh2"
    )
    assert (msg.hostname, msg.appname, msg.procid) == ("web01", "sshd", "4121")
    assert msg.message.startswith("Failed password for invalid user admin")
    assert msg.timestamp == dt.datetime(2031, 6, 15, 11, 58, 1, tzinfo=UTC)


def test_missing_hostname():
    msg = parse("<86>Jun 15 11:58:01 sudo[77]:   alice : TTY=pts/0 ; COMMAND=/bin/ls")
    assert msg.hostname is None
    assert (msg.appname, msg.procid) == ("sudo", "77")


def test_december_message_received_in_january_is_last_year():
    received = dt.datetime(2032, 1, 1, 0, 0, 30, tzinfo=UTC)
    msg = parse("<13>Dec 31 23:59:58 h app: bye", received_at=received)
    assert msg.timestamp == dt.datetime(2031, 12, 31, 23, 59, 58, tzinfo=UTC)


def test_january_message_received_in_december_with_a_fast_clock_is_next_year():
    received = dt.datetime(2031, 12, 31, 23, 59, 50, tzinfo=UTC)
    msg = parse("<13>Jan  1 00:00:05 h app: hello", received_at=received)
    assert msg.timestamp == dt.datetime(2032, 1, 1, 0, 0, 5, tzinfo=UTC)


def test_configured_zone_applies_to_zoneless_times():
    msg = parse("<13>Jun 15 13:30:00 h app: local time", default_tz=ZoneInfo("Europe/Amsterdam"))
    assert msg.timestamp == dt.datetime(2031, 6, 15, 11, 30, tzinfo=UTC)


def test_29_february_outside_a_leap_year_falls_back_to_receive_time():
    msg = parse("<13>Feb 29 10:00:00 h app: no such day this year")
    assert msg.time_source == "received" and msg.timestamp == RECEIVED


def test_cisco_sequence_number_and_unsynchronised_clock():
    msg = parse(
        "<189>1234: *Mar  1 18:46:11.579: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, "
        "changed state to up"
    )
    assert (msg.facility_name, msg.severity_name) == ("local7", "notice")
    assert msg.time_source == "received" and msg.timestamp == RECEIVED  # `*`: not trusted
    assert msg.hostname is None and msg.appname is None
    assert msg.message.startswith("%LINK-3-UPDOWN: Interface GigabitEthernet0/1")


def test_cisco_synchronised_clock_with_year_and_zone():
    msg = parse("<187>77: .Jun 15 2031 09:00:01.250 UTC: %SYS-5-CONFIG_I: Configured")
    assert msg.timestamp == dt.datetime(2031, 6, 15, 9, 0, 1, 250000, tzinfo=UTC)
    assert msg.time_source == "message"
    assert msg.message == "%SYS-5-CONFIG_I: Configured"


def test_bsd_time_with_nanoseconds():
    msg = parse("<13>Jun 15 11:00:00.123456789 h app: x")
    assert msg.timestamp == dt.datetime(2031, 6, 15, 11, 0, 0, 123456, tzinfo=UTC)
    assert (msg.hostname, msg.appname, msg.message) == ("h", "app", "x")


def test_iso_timestamp_inside_rfc3164():
    msg = parse("<30>2031-06-15T11:00:00.5+01:00 db01 postgres[901]: checkpoint complete")
    assert msg.timestamp == dt.datetime(2031, 6, 15, 10, 0, 0, 500000, tzinfo=UTC)
    assert (msg.hostname, msg.appname, msg.procid) == ("db01", "postgres", "901")


def test_missing_pri_defaults_to_user_notice_and_keeps_the_line():
    msg = parse("just some text from a broken sender")
    assert (msg.facility, msg.severity) == (1, 5)
    assert msg.time_source == "received"
    assert msg.message == "just some text from a broken sender"


def test_out_of_range_pri_is_unidentifiable_and_kept_as_message():
    msg = parse("<999>Jun 15 11:00:00 h app: x")
    assert (msg.facility, msg.severity) == (1, 5)
    assert msg.message.startswith("<999>")


def test_ipv6_hostname_is_not_a_tag():
    msg = parse("<13>Jun 15 11:00:00 fe80::1 app[2]: x")
    assert (msg.hostname, msg.appname, msg.procid) == ("fe80::1", "app", "2")


def test_trailing_newline_and_nul_are_framing_not_message():
    assert parse("<13>Jun 15 11:00:00 h app: x\r\n").message == "x"


# --- never raises -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [("", "empty"), ("   \n", "empty"), ("\x01\x02\x03garbage\x04\x05", "binary")],
)
def test_garbage_is_malformed(line, reason):
    result = parse_syslog(line, received_at=RECEIVED)
    assert result == Malformed(reason, line)


def test_random_input_never_raises():
    rng = random.Random(12)
    pieces = ["<", ">", "1", " ", "-", "[", "]", '"', "\\", "=", ":", "Jun", "2031-", "T", "Z"]
    for _ in range(3000):
        if rng.random() < 0.5:
            line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        else:
            line = "".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(0, 60)))
        result = parse_syslog(line, received_at=RECEIVED)
        assert isinstance(result, SyslogMessage | Malformed)
        if isinstance(result, SyslogMessage):
            assert result.timestamp.tzinfo is not None
