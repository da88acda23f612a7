"""Fixtures of the desk suites: the mail listener and relay (tests/desk/mail_support.py)."""

from tests.desk.mail_support import listener, mail_settings, outbox  # noqa: F401
