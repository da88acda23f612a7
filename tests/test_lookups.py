"""IdIn selects the same rows as ``__in`` on both databases, with one parameter."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.core.lookups import IdIn
from tandem.core.scoping import system_context
from tandem.tenancy.models import Party


def test_id_in_matches_the_rows_of_in(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: every party"):
        every = sorted(Party.objects.values_list("pk", flat=True))
        wanted = every[::2] + [10**12]  # and an id that exists nowhere
        rows = Party.objects.filter(IdIn("pk", wanted)).values_list("pk", flat=True)
        with CaptureQueriesContext(connection) as captured:
            found = sorted(rows)
        assert found == every[::2]
        assert len(captured) == 1
        _sql, params = rows.query.sql_with_params()
        if connection.vendor == "postgresql":
            assert params == (sorted(wanted),)  # every id in one array parameter
        else:
            assert params == tuple(sorted(wanted))  # plain integers, bound by the driver


def test_id_in_an_empty_list_matches_nothing(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: no parties"):
        assert not Party.objects.filter(IdIn("pk", [])).exists()
        assert Party.objects.exclude(IdIn("pk", [])).exists()


def test_id_in_refuses_what_is_not_an_integer() -> None:
    import pytest

    with pytest.raises(ValueError):
        IdIn("pk", ["1; DROP TABLE x"])
