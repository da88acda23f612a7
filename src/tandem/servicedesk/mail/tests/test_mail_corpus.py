"""The mail corpus (mail_corpus/ beside this file): each message, delivered over SMTP to
Tandem's own listener and processed, becomes what corpus.toml says (a ticket, a threaded note, kept
with its reason, failed), and none ends pending or vanishes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from tests.desk.mail_support import DESK

from tandem.accounts.models import Role
from tandem.accounts.services import add_membership, create_user
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.mail.models import InboundMessage
from tandem.servicedesk.tickets.models import Attachment, Comment, Ticket
from tandem.tenancy.models import Tenant

CORPUS = Path(__file__).parent / "mail_corpus"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "corpus.toml").read_text())


def test_every_sample_has_an_expectation_and_every_expectation_a_sample() -> None:
    assert set(EXPECTED) == {p.name for p in CORPUS.glob("*.eml")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_ends_as_expected(world, listener, name: str) -> None:  # type: ignore[no-untyped-def]
    case = EXPECTED[name]
    with system_context("test: the world's ticket"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        acme = Tenant.objects.get(pk=world["tenant"])
        tickets_before = Ticket.objects.filter(tenant=acme).count()
        notes_before = Comment.objects.filter(ticket=ticket).count()
        kept_before = InboundMessage.objects.count()
    if "member" in case:
        actor = system_principal("test: a corpus sender")
        user = create_user(actor=actor, email=case["member"], full_name="Corpus sender")
        with system_context("test: role"):
            role = Role.objects.get(key="requester")
        add_membership(actor=actor, user=user, role=role, tenant=acme)
    raw = (CORPUS / name).read_bytes().replace(b"{ticket}", str(ticket.number).encode())
    sender = case.get("envelope_from", "sender@corpus.test")
    sends = 2 if case.get("twice") else 1
    results = [
        listener.send(raw, to=DESK, sender=sender, utf8=case.get("utf8", False))
        for _ in range(sends)
    ]
    message = results[0]

    with system_context("test: outcome"):
        # Nothing vanished and nothing is left pending.
        assert InboundMessage.objects.count() == kept_before + sends
        assert not InboundMessage.objects.filter(status="pending").exists()
        assert bytes(message.raw) == raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        tickets_after = Ticket.objects.filter(tenant=acme).count()
        outcome = case["outcome"]
        if outcome == "ticket":
            assert message.status == "processed", message.reason
            assert message.comment_id is None
            assert tickets_after == tickets_before + 1
            opened = Ticket.objects.get(pk=message.ticket_id)
            assert case.get("text", "") in opened.description
            if "attachments" in case:
                assert message.attachments_kept == case["attachments"]
                assert Attachment.objects.filter(ticket=opened).count() == case["attachments"]
            for copy in results[1:]:
                assert (copy.status, copy.ticket_id) == ("processed", message.ticket_id)
        elif outcome == "note":
            assert message.status == "processed", message.reason
            assert message.ticket_id == ticket.pk and message.comment_id is not None
            assert tickets_after == tickets_before
            assert Comment.objects.filter(ticket=ticket).count() == notes_before + 1
            assert Comment.objects.get(pk=message.comment_id).body == case["text"]
        elif outcome == "kept":
            assert (message.status, message.reason_code) == ("kept", case["reason_code"]), (
                message.reason
            )
            assert message.reason
            assert message.tenant_id == acme.pk  # on Acme's mail review
            assert tickets_after == tickets_before
            assert Comment.objects.filter(ticket=ticket).count() == notes_before
        else:
            assert outcome == "failed"
            assert message.status == "failed" and message.reason
            assert message.tenant_id == acme.pk
            assert tickets_after == tickets_before
