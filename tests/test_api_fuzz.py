"""Schemathesis over the whole committed API schema: no server errors, and every answer
matches the schema it documents.

Every operation of ``docs/openapi.json`` gets a few generated requests (valid and
boundary values from the schema, bodies included) as two personas: Acme's owner and
Northwind's technician, each with a write token created here. The app runs in-process
(WSGI) on the test database, inside the test's transaction: whatever the requests create
or change is rolled back. Derandomized, so a run asks the same questions every time.
Bounded by ``EXAMPLES`` (about a minute on two cores); raise it locally to dig deeper:
``TANDEM_FUZZ_EXAMPLES=50 pytest tests/test_api_fuzz.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import create_api_token
from tests.personas import membership_of, user_of

pytestmark = pytest.mark.slow

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "5"))
PERSONAS = ("owner", "provider_tech")


def _token(world: Any, persona: str) -> str:
    user = user_of(world, persona)
    _, raw = create_api_token(
        actor=resolve_principal(user),
        user=user,
        membership=membership_of(world, persona),
        name=f"fuzz {persona}",
        scope="write",
    )
    return raw


@pytest.fixture
def _keep_the_test_connection():  # type: ignore[no-untyped-def]
    """Django closes the database connection at the end of each request; the test's
    transaction lives on it (the test client disconnects the same handlers)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _probe(operation: Any, headers: dict[str, str]) -> str | None:
    """``EXAMPLES`` generated requests to one operation; the first failure, if any."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - every operation's failure is reported at the end
        return str(exc)[:1500]
    return None


@pytest.mark.usefixtures("_keep_the_test_connection")
def test_no_operation_answers_a_server_error_or_off_schema(world) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_dict(json.loads(SCHEMA.read_text()))
    schema.app = get_wsgi_application()
    tokens = {persona: _token(world, persona) for persona in PERSONAS}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for persona, token in tokens.items():
            failure = _probe(operation, {"Authorization": f"Bearer {token}"})
            if failure:
                failures.append(f"{operation.label} as {persona}: {failure}")
    assert not failures, "\n\n".join(failures)
