"""Shared pieces of the HTTP API: authentication, input base class, bounded ids and numbers,
ordering, pagination."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Schema
from ninja.pagination import LimitOffsetPagination
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import AfterValidator, ConfigDict, Discriminator, Field, Tag, model_validator

from tandem.core import pagination as pagination_core
from tandem.core.errors import InvalidInput
from tandem.core.principal import Principal, current_principal
from tandem.core.request import principal_of
from tandem.core.validation import MAX_ID

#: An id in a path, a query string or a body: 1 to ``MAX_ID``. Every id the API reads has
#: this type (``tests/test_bounds.py`` walks the OpenAPI schema for unbounded integers): a
#: larger number overflowed the database, a server error. In a path, a value outside the
#: range answers 404 like any id that does not exist (``config.api``); elsewhere, 422.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A count or number that is not an id but still reaches the database (offsets, limits).
Count = Annotated[int, Field(ge=0, le=MAX_ID)]


def _in_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (a naive one is taken as UTC). PostgreSQL refuses offsets beyond
    ±15:59, which ISO 8601 allows up to ±23:59 (``+16:27`` was a server error)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise ValueError("Date and time out of range.") from exc


#: A date and time the API reads: any ISO 8601 offset, passed on in UTC.
Moment = Annotated[dt.datetime, AfterValidator(_in_utc)]


class TokenAuth(HttpBearer):
    """``Authorization: Bearer tdm_...``: resolved by the principal middleware already."""

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        principal = principal_of(request)
        if getattr(request, "api_token", None) is not None and principal.is_authenticated:
            return principal
        return None


class SessionAuth(APIKeyCookie):
    """The browser session, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        principal = principal_of(request)
        if getattr(request, "api_token_invalid", False):
            return None
        return principal if principal.is_authenticated else None


AUTH = [TokenAuth(), SessionAuth()]


class Input(Schema):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        """No text with a NUL character, at any depth: PostgreSQL cannot store it (the
        write failed as a server error) and no one types it."""
        if _holds_nul(data):
            raise ValueError("Text must not contain NUL (\\u0000) characters.")
        return data


def _holds_nul(data: Any) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list | tuple):
        return any(_holds_nul(item) for item in data)
    return False


# --- Audiences -------------------------------------------------------------------------------
# The API shows each reader exactly what the pages show them. A requester's pages (the
# portal) show a ticket without the IT behind it, so an object a requester may read has two
# output schemas, and which one answers is decided here, once, by the reader's access in the
# object's tenant, never field by field in handlers or resolvers.

IT = "it"
REQUESTER = "requester"


def audience(obj: Any) -> str:
    """``it`` when the acting principal works in ``obj``'s tenant for a party (the tenant's
    IT or a provider), else ``requester``. Without a principal or a tenant: ``requester``
    (the smaller shape: fail closed)."""
    tenant_id = obj.get("tenant_id") if isinstance(obj, dict) else getattr(obj, "tenant_id", None)
    principal = current_principal()
    if principal is None or tenant_id is None:
        return REQUESTER
    if principal.is_system or principal.is_it_in(tenant_id):
        return IT
    return REQUESTER


class RequesterShape(Schema):
    """Base for the requester's shape of a response (:func:`by_audience`). Its JSON schema
    admits no other properties, so the two shapes of a ``oneOf`` can be told apart: without
    it the IT shape, a superset, also matched the requester's and no answer conformed."""

    model_config = ConfigDict(extra="forbid")


def by_audience(*, it: type[Schema], requester: type[RequesterShape]) -> Any:
    """One response type of two shapes, chosen per object by :func:`audience`. Use it as
    the root of a named ``RootModel`` (the OpenAPI document lists both shapes under it)."""

    def choose(obj: Any) -> str:
        # Serializing asks again, with the shape already chosen: keep it.
        if isinstance(obj, it):
            return IT
        if isinstance(obj, requester):
            return REQUESTER
        return audience(obj)

    return Annotated[
        Annotated[it, Tag(IT)] | Annotated[requester, Tag(REQUESTER)],
        Discriminator(choose),
    ]


def reader_id(context: Any) -> int | None:
    """The user reading a response (for a resolver that words something "You")."""
    request = (context or {}).get("request")
    principal = getattr(request, "principal", None) or current_principal()
    return getattr(principal, "user_id", None)


def ordered(
    queryset: QuerySet[Any], ordering: str | None, allowed: dict[str, str]
) -> QuerySet[Any]:
    """Order by one of the allowed public names (``name`` or ``-name``); refuse others."""
    if not ordering:
        return queryset
    descending = ordering.startswith("-")
    key = ordering.lstrip("-")
    if key not in allowed:
        raise InvalidInput({"ordering": [f"Order by one of: {sorted(allowed)}."]})
    field = allowed[key]
    # The tie-break runs the same way as the order, so a (column, id) index serves both
    # directions and the database never sorts a whole list for one page.
    if descending:
        return queryset.order_by(f"-{field}", "-pk")
    return queryset.order_by(field, "pk")


class Pagination(LimitOffsetPagination):
    """Ninja's limit/offset pages with both numbers bounded (ninja leaves them open-ended,
    and ``offset=2**63`` overflowed the database). A ``limit`` above ``max_limit`` still
    reads as ``max_limit``."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_ID)
        offset: int = Field(0, ge=0, le=MAX_ID)


class CappedLimitOffsetPagination(Pagination):
    """Limit/offset pages whose ``count`` stops at ``core.pagination.COUNT_CAP``.

    ``count_exact`` says whether ``count`` is the whole number of rows or only "at least
    that many"; offsets beyond the cap still work (page through with ``offset`` until a page
    comes back short).
    """

    class Output(Schema):
        items: list[Any]
        count: int
        count_exact: bool

    def paginate_queryset(
        self,
        queryset: QuerySet[Any],
        pagination: Any,
        request: HttpRequest,
        **params: Any,
    ) -> Any:
        offset, limit = pagination.offset, min(pagination.limit, self.max_limit)
        items, count, exact = pagination_core.capped_page(queryset, offset, limit)
        return {"items": items, "count": count, "count_exact": exact}
