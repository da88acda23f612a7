"""``IdIn``: "column is one of these ids", for lists of hundreds of ids.

A provider technician's ticket filter names every client tenant, party and service area
of the provider: about 2,400 ids. Written as ``field__in=ids`` each id was prepared by
Django one by one, and on PostgreSQL bound as its own placeholder of a 10 kB statement
that psycopg re-parsed on every request: more time than the database spent answering.
``IdIn`` checks the ids once (integers only) and passes them as one array parameter on
PostgreSQL (``= ANY(%s)``) and as a plain placeholder list on SQLite, whose driver binds
parameters in C.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import BooleanField, Expression, F


class IdIn(Expression):
    """A boolean condition for ``filter()``/``Q()``: ``column`` is one of ``ids``.

    ``ids`` must be integers (they are checked, so nothing else can reach the SQL); an
    empty list matches nothing.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, ids: Iterable[int]) -> None:
        super().__init__()
        self.column = F(column)
        self.ids = sorted({int(i) for i in ids})

    def __repr__(self) -> str:
        return f"IdIn({self.column!r}, <{len(self.ids)} ids>)"

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column_sql, column_params = compiler.compile(self.column)
        if not self.ids:
            return "1 = 0", ()
        if connection.vendor == "postgresql":
            return f"{column_sql} = ANY(%s::bigint[])", (*column_params, self.ids)
        # SQLite binds parameters in C, cheaply; what cost time was Django preparing each
        # one. A literal list also lets its planner see the ids (a JSON table hid them and
        # it chose to sort a provider's whole queue).
        placeholders = ", ".join(["%s"] * len(self.ids))
        return f"{column_sql} IN ({placeholders})", (*column_params, *self.ids)
