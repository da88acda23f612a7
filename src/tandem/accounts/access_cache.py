"""Principals' accesses cached per process, against one access-version token.

Building a principal reads the user's memberships, every live engagement of their
providers and those engagements' areas, sites and asset groups: five queries and, for a
technician of an MSP with 160 clients, a thousand rows and 15 ms on every request. The
result changes only when an administrator changes access, so each process keeps it.

Freshness is the point of reading the principal per request (an engagement suspended a
moment ago must be gone from the next request), and the cache keeps it:

- ``AccessVersion`` holds one random token. The signal handlers at the end of this module
  replace it in the same transaction as any save, delete or scope change of the models a
  principal is built from (memberships, roles, tenants, providers, engagements, parties,
  service areas, sites, asset groups). Writes that bypass ``save()`` call
  :func:`invalidate` themselves.
- A request reads the token first and then, on a miss, the accesses, and then the token
  again: an entry is filed only when the token did not change meanwhile, so it holds
  exactly the accesses of its token (under READ COMMITTED, and SQLite's single writer,
  what is read after the first token is at least that new).
- Fixture loads (raw saves) and migrations (historical models send no signals; the
  handler runs on ``post_migrate``) replace the token too.
- The token is random rather than a counter: a change rolled back with its transaction
  cannot leave an entry behind that a later, different change would match.
- The day is part of the key: engagements start and end on dates.

Without the row (a test database emptied by a flush) nothing is cached.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from tandem.accounts.models import AccessVersion, Membership, Role
from tandem.core.scoping import system_context
from tandem.tenancy.models import AssetGroup, Engagement, Party, Provider, ServiceArea, Site, Tenant

#: How many (user, token, day) entries one process keeps; least recently used go first.
CACHE_SIZE = 4096

T = TypeVar("T")

_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def current_token() -> uuid.UUID | None:
    """The access version as the caller's transaction sees it (one query); None without
    the row."""
    with system_context("read the access version"):
        found = list(AccessVersion.objects.filter(pk=1).values_list("token", flat=True))
    return found[0] if found else None


def cached(
    key: tuple[Any, ...], token: uuid.UUID | None, day: dt.date, build: Callable[[], T]
) -> T:
    """``build()``'s result for ``key`` as of ``token`` and ``day``, built at most once per
    process while the token stands. ``token`` must have been read before ``build`` runs."""
    if token is None:
        return build()
    full_key = (*key, token, day)
    with _lock:
        if full_key in _cache:
            _cache.move_to_end(full_key)
            return _cache[full_key]  # type: ignore[no-any-return]
    built = build()
    if current_token() != token:
        # Access changed while it was being read: the result may be newer than ``token``.
        # Use it for this request, but never file it under a token it does not match
        # (a restored backup could bring that token back).
        return built
    with _lock:
        _cache[full_key] = built
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def invalidate() -> None:
    """Give the access version a new token: every process rebuilds its principals.

    Runs in the caller's transaction, so the new token commits or rolls back with the change.
    """
    with system_context("invalidate cached principals"):
        AccessVersion.objects.filter(pk=1).update(token=uuid.uuid4())


def clear() -> None:
    """Forget every cached entry (tests and benchmarks)."""
    with _lock:
        _cache.clear()


# --- Invalidation -----------------------------------------------------------------------------


_table_seen: set[str] = set()


def _table_exists(using: str) -> bool:
    """False only while migrations have not created the row's table (or have just removed
    it, migrating ``accounts`` back): then there is nothing cached against it either."""
    if using not in _table_seen:
        if AccessVersion._meta.db_table not in connections[using].introspection.table_names():
            return False
        _table_seen.add(using)
    return True


def _changed(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if _table_exists(using):
        invalidate()  # also for fixtures loaded with ``loaddata`` (raw saves)


def _migrated(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Data migrations write through historical models, which send no signals.
    if _table_exists(using):
        invalidate()


def _m2m_changed(sender: Any, action: str, using: str = "default", **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear") and _table_exists(using):
        invalidate()


def connect_signals() -> None:
    """Called from the accounts app's ``ready()``: every model a principal is built from.

    Not ``User``: its own fields are read fresh with every request, and a sign-in saves it.
    """
    for model in (
        Membership,
        Role,
        Tenant,
        Provider,
        Engagement,
        Party,
        ServiceArea,
        Site,
        AssetGroup,
    ):
        name = model.__name__
        post_save.connect(_changed, sender=model, dispatch_uid=f"access-save-{name}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"access-delete-{name}")
    post_migrate.connect(_migrated, dispatch_uid="access-migrated")
    for field in ("service_areas", "sites", "asset_groups"):
        m2m_changed.connect(
            _m2m_changed,
            sender=getattr(Engagement, field).through,
            dispatch_uid=f"access-scope-{field}",
        )
