"""Counting and paging lists that can hold a million rows.

Counting every row a principal may see costs as much as reading them all: at a million
tickets a provider's queue spent more time counting than showing its fifty rows. Ticket
lists therefore count at most :data:`COUNT_CAP` rows and say whether the count is whole
(decision 0013); the API does it in ``core.api.CappedLimitOffsetPagination``, the pages
with :class:`CappedPaginator`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from tandem.core.lookups import IdIn
from tandem.core.scoping import system_context

#: The most rows a list counts; beyond it the count reads "1,000+".
COUNT_CAP = 1000


def capped_count(queryset: QuerySet[Any], cap: int | None = None) -> tuple[int, bool]:
    """``(count, exact)``: the number of rows when there are at most ``cap`` (default
    :data:`COUNT_CAP`) of them, else ``(cap, False)``. Costs reading at most ``cap + 1``
    rows, whatever the table's size."""
    cap = COUNT_CAP if cap is None else cap
    seen = queryset.order_by().values("pk")[: cap + 1].count()
    return (seen, True) if seen <= cap else (cap, False)


def capped_page(
    queryset: QuerySet[Any], offset: int, limit: int, cap: int | None = None
) -> tuple[list[Any], int, bool]:
    """``(rows, count, exact)`` for one page of ``queryset``, its count capped as in
    :func:`capped_count`.

    For the first ``cap`` rows (the pages people read) one query finds both: the keys of
    the first ``cap + 1`` rows in order, whose number is the count and whose slice is the
    page. Deeper pages count and find their keys separately.
    """
    cap = COUNT_CAP if cap is None else cap
    if offset + limit <= cap + 1:
        keys = list(queryset.values_list("pk", flat=True)[: cap + 1])
        count, exact = (len(keys), True) if len(keys) <= cap else (cap, False)
        return _load(queryset, keys[offset : offset + limit]), count, exact
    count, exact = capped_count(queryset, cap)
    return page_rows(queryset, offset, limit), count, exact


def page_rows(queryset: QuerySet[Any], offset: int, limit: int) -> list[Any]:
    """One page of ``queryset``, found first by primary key and then loaded.

    The page's keys come from the query with its full filter (for a provider's queue, one
    predicate over every client tenant) but no joins; the rows, with their
    ``select_related`` joins and prefetches, are then read by those keys alone. Planning the
    joins against the full filter cost PostgreSQL more than running the whole query (a
    "deferred join", as large sites page their feeds).
    """
    return _load(queryset, list(queryset.values_list("pk", flat=True)[offset : offset + limit]))


def _load(queryset: QuerySet[Any], keys: list[Any]) -> list[Any]:
    """The rows of ``keys``, in that order, with the joins, deferred fields and prefetches
    of ``queryset``."""
    if not keys:
        return []
    # The keys come from ``queryset``, filtered by the principal's policy and scope; the
    # second query needs neither (repeating the scope's tenant list only cost planning time).
    with system_context("load the rows of a page whose keys were read in scope"):
        rows = queryset.model._base_manager.filter(IdIn("pk", keys)).order_by()  # keys' order
        rows.query.select_related = queryset.query.select_related
        rows.query.deferred_loading = queryset.query.deferred_loading
        rows = rows.prefetch_related(*queryset._prefetch_related_lookups)  # type: ignore[attr-defined]
        by_key = {row.pk: row for row in rows}
    return [by_key[key] for key in keys if key in by_key]


class CappedPaginator(Paginator):
    """Django's paginator with the count of :func:`capped_count`.

    Pages run up to the cap; ``count_exact`` tells the template to say "1,000+" and to point
    at the filters and the export for the rest.
    """

    count_exact = True

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        load: Callable[[list[Any]], list[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``load``: reads a page's rows from their keys, in order (default: the
        queryset's model instances, as :func:`page_rows` loads them)."""
        super().__init__(object_list, per_page, **kwargs)
        self._load_rows = load or (lambda keys: _load(object_list, keys))

    @cached_property
    def count(self) -> int:
        # One query: the keys of the first COUNT_CAP + 1 rows in order. Their number is the
        # count, and every page this paginator can show is a slice of them.
        cap = COUNT_CAP
        self._keys = list(self.object_list.values_list("pk", flat=True)[: cap + 1])  # type: ignore[attr-defined]
        self.count_exact = len(self._keys) <= cap
        return min(len(self._keys), cap)

    def page(self, number: Any) -> Any:
        """Django's page, its rows read by key (see :func:`page_rows`)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self._load_rows(self._keys[bottom:top])
        return self._get_page(rows, number, self)  # type: ignore[attr-defined]
