"""A first inventory's rows are written as the document says, whatever characters its
values hold: PostgreSQL's ``COPY`` text is built in one piece (decision 0039) and must
escape exactly what COPY escapes; SQLite takes multi-row ``INSERT``s. And the canonical
bytes made by orjson are used only when they are ``json``'s."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tandem.agents.checkin_services import COPY_FROM, SOFTWARE_COLUMNS, UPDATE_COLUMNS, copy_text
from tandem.agents.documents import canonical, canonical_for, hash_of, state_hash
from tandem.agents.models import InstalledSoftware, PendingUpdate
from tandem.agents.normalise import software_rows, update_rows
from tandem.agents.tests.support import check_in, document, enrol, full, make_token
from tandem.core.scoping import system_context

#: Values COPY's text format must escape, and others it must leave alone.
AWKWARD = ["tab\there", "new\nline", "back\\slash", "carriage\rreturn", "\\N", "Ünïcödé ✓", ""]


def _awkward_document() -> dict[str, Any]:
    packages = {f"pkg-{n:03d}": f"1.{n}" for n in range(COPY_FROM + 10)}
    doc = document(packages, {f"pkg-{n:03d}": ("1.0", "1.1", n % 2 == 0) for n in range(COPY_FROM)})
    for item, text in zip(doc["software"], AWKWARD, strict=False):
        item["version"] = text
        item["source"] = f"{text}-source"
    for item, text in zip(doc["updates"], AWKWARD, strict=False):
        item["candidate_version"] = text
    return doc


@pytest.mark.django_db
def test_rows_hold_every_character_the_document_sent(world) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    body = enrol(Client(), secret).json()
    doc = _awkward_document()
    answer = check_in(Client(), body["credential"], body["device_id"], [full(1, doc)])
    assert answer.status_code == 200, answer.content
    with system_context("test: the rows"):
        software = {
            r[0]: tuple(r[1:])
            for r in InstalledSoftware.objects.filter(device_id=body["device_id"]).values_list(
                "title__item_id", *(f"title__{c}" for c in SOFTWARE_COLUMNS)
            )
        }
        updates = {
            r[0]: tuple(r[1:])
            for r in PendingUpdate.objects.filter(device_id=body["device_id"]).values_list(
                "item_id", *UPDATE_COLUMNS
            )
        }
    assert software == software_rows(doc)
    assert updates == update_rows(doc)


def test_copy_text_escapes_what_copy_escapes() -> None:
    plain = copy_text("p\t", [("a", "b"), ("c", "")])
    assert plain == b"p\ta\tb\np\tc\t\n"
    awkward = copy_text("p\t", [("a\tb", "c\nd"), ("e\\f", "g\rh")])
    assert awkward == b"p\ta\\tb\tc\\nd\np\te\\\\f\tg\\rh\n"
    mixed = copy_text("p\t", [("x", True, None), ("y", False, "z")])
    assert mixed == b"p\tx\tt\t\\N\np\ty\tf\tz\n"


@pytest.mark.parametrize(
    "doc",
    [
        {"schema_version": 1, "b": [1, 2], "a": {"y": "ä", "x": None}},
        {"schema_version": 1, "tiny": 0.000015, "big": 1e300, "whole": 2.0},
        {"schema_version": 1, "control": "\u001f\u007f\u2028", "quote": '"\\/'},
    ],
)
def test_canonical_bytes_are_jsons_whichever_made_them(doc: dict[str, Any]) -> None:
    expected = canonical(doc)
    assert canonical_for(doc, state_hash(doc)) == (expected, hash_of(expected))
    # A hash that is not the document's: json's bytes, and their own hash.
    assert canonical_for(doc, "sha256:0") == (expected, hash_of(expected))
    assert canonical_for(doc, None) == (expected, hash_of(expected))
