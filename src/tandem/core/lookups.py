"""``IdIn``: "column is one of these ids", for lists of hundreds of ids; ``InRange``: every
integer column's ``__in`` lookup, without the values the column cannot hold.

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
from django.db.models.lookups import In

from tandem.core.validation import MAX_ID


class IdIn(Expression):
    """A boolean condition for ``filter()``/``Q()``: ``column`` is one of ``ids``.

    ``ids`` must be integers (they are checked, so nothing else can reach the SQL); an
    empty list matches nothing. Ids beyond the 64-bit range are dropped: no row has them,
    and bound as parameters they overflowed the database driver.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, ids: Iterable[int]) -> None:
        super().__init__()
        self.column = F(column)
        self.ids = sorted({n for n in map(int, ids) if -MAX_ID - 1 <= n <= MAX_ID})

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


class InRange(In):
    """``field__in=[...]`` on an integer column (``pk__in`` included), minus the values
    outside the column's range on this database.

    Django already answers ``pk=2**63`` with "no rows" (its ``IntegerFieldOverflow``
    lookups) but bound the same number in an ``__in`` list, and the driver overflowed: a
    form's multiple choice of ids or a bulk change of tickets was a server error. Such a
    value cannot match a row, so it is left out (an empty list matches nothing, as usual).
    Registered for every ``IntegerField`` by ``CoreConfig.ready``.
    """

    def process_rhs(self, compiler: Any, connection: Any) -> Any:
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(
                self.lhs.output_field.get_internal_type()
            )
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)
