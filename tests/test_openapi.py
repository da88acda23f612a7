"""The committed OpenAPI schema is the one the code serves."""

from pathlib import Path

from tandem.cli import openapi_document

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def test_committed_schema_matches_the_code() -> None:
    assert COMMITTED.read_text() == openapi_document(), (
        "docs/openapi.json is stale: run `tandem openapi -o docs/openapi.json` and commit it"
    )


def test_schema_is_served(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/engagements/{engagement_id}/suspend" in response.json()["paths"]
