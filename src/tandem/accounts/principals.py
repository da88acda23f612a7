"""Resolving a user (or API token) into a :class:`~tandem.core.principal.Principal`.

Runs on every request: an engagement suspended or a membership removed a moment ago is
already gone from the next principal. The accesses themselves are cached per process
against the access-version token (``accounts.access_cache``), which every such change
replaces in its own transaction; the user's own fields are always read fresh.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts import access_cache
from tandem.accounts.choices import TokenScope
from tandem.accounts.models import ApiToken, Membership, User
from tandem.core.lookups import IdIn
from tandem.core.principal import Principal, ProviderAccess, TenantAccess
from tandem.core.scoping import system_context
from tandem.tenancy.choices import EngagementStatus
from tandem.tenancy.models import Engagement, Tenant


def engagement_is_live(engagement: Engagement, today: dt.date) -> bool:
    """Active status and today within its start and end dates."""
    return (
        engagement.status == EngagementStatus.ACTIVE
        and engagement.starts_on <= today
        and (engagement.ends_on is None or engagement.ends_on >= today)
    )


def resolve_principal(user: User, *, token: ApiToken | None = None) -> Principal:
    """Every access ``user`` holds right now, optionally narrowed to one API token."""
    # The access version before the accesses: see access_cache.
    return _principal(user, token, access_cache.current_token(), timezone.localdate())


def signed_in_user(request: HttpRequest) -> User:
    """The person signed in on a page's request (a requester opening a ticket is its
    requester); 403 "sign in first" for a request without one."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("sign in first")
    return user


def resolve_signed_in(user: User) -> tuple[Principal, bool]:
    """For a signed-in request: the principal and whether a second factor is enforced on
    it (:func:`mfa_required_for`), with one read of the access version for both."""
    version, today = access_cache.current_token(), timezone.localdate()
    principal = _principal(user, None, version, today)
    return principal, _mfa_required(user, principal.tenant_ids, version, today)


def _principal(
    user: User, token: ApiToken | None, version: uuid.UUID | None, today: dt.date
) -> Principal:
    if not user.is_active:
        return Principal(user_id=None, label="anonymous")
    tenant_accesses, provider_accesses = access_cache.cached(
        ("accesses", user.pk, token.pk if token else None),
        version,
        today,
        lambda: _read_accesses(user, token, today),
    )
    return Principal(
        user_id=user.pk,
        label=user.email,
        tenant_accesses=tenant_accesses,
        provider_accesses=provider_accesses,
        is_superuser=user.is_superuser and token is None,
        token_id=token.pk if token else None,
        token_membership_id=token.membership_id if token else None,
        token_read_only=bool(token and token.scope == TokenScope.READ),
    )


def _read_accesses(
    user: User, token: ApiToken | None, today: dt.date
) -> tuple[tuple[TenantAccess, ...], tuple[ProviderAccess, ...]]:
    tenant_accesses: list[TenantAccess] = []
    provider_accesses: list[ProviderAccess] = []
    with system_context("resolve the acting principal"):
        memberships = Membership.objects.filter(user=user, is_active=True).select_related(
            "role", "tenant", "provider"
        )
        if token is not None:
            memberships = memberships.filter(pk=token.membership_id)
        provider_ids: set[int] = set()
        for membership in memberships:
            permissions = frozenset(membership.role.permissions)
            if membership.tenant is not None:
                if not membership.tenant.is_active:
                    continue
                tenant_accesses.append(
                    TenantAccess(
                        tenant_id=membership.tenant.pk,
                        membership_id=membership.pk,
                        role_key=membership.role.key,
                        permissions=permissions,
                        party_id=membership.party_id,
                        user_id=user.pk,
                    )
                )
            elif membership.provider is not None and membership.provider.is_active:
                provider_ids.add(membership.provider.pk)
                provider_accesses.append(
                    ProviderAccess(
                        provider_id=membership.provider.pk,
                        membership_id=membership.pk,
                        role_key=membership.role.key,
                        permissions=permissions,
                    )
                )
        if provider_ids:
            tenant_accesses += _engagement_accesses(provider_ids, provider_accesses, user, today)
    return tuple(tenant_accesses), tuple(provider_accesses)


def mfa_required_for(user: User, reached: Iterable[int] = ()) -> bool:
    """True if a second factor is enforced on ``user``: by a tenant or provider the user is
    a member of, or by a tenant in ``reached`` (pass the principal's ``tenant_ids``: a
    client that enforces a second factor enforces it on its providers' staff too)."""
    return _mfa_required(user, reached, access_cache.current_token(), timezone.localdate())


def _mfa_required(
    user: User, reached: Iterable[int], version: uuid.UUID | None, today: dt.date
) -> bool:
    tenant_ids = frozenset(reached)
    return access_cache.cached(
        ("mfa", user.pk, tenant_ids),
        version,
        today,
        lambda: _reads_mfa_required(user, tenant_ids),
    )


def _reads_mfa_required(user: User, tenant_ids: frozenset[int]) -> bool:
    with system_context("check MFA enforcement"):
        return (
            Membership.objects.filter(user=user, is_active=True)
            .filter(tenant__require_mfa=True)
            .exists()
            or Membership.objects.filter(
                user=user, is_active=True, provider__require_mfa=True
            ).exists()
            or (
                bool(tenant_ids)
                and Tenant.objects.filter(IdIn("id", tenant_ids), require_mfa=True).exists()
            )
        )


def has_confirmed_totp(user: User) -> bool:
    device = getattr(user, "totp_device", None)
    return bool(device and device.confirmed_at)


def _engagement_accesses(
    provider_ids: set[int],
    provider_accesses: list[ProviderAccess],
    user: User,
    today: dt.date,
) -> list[TenantAccess]:
    """One access per live engagement of the user's providers, with its scope.

    Read as plain tuples (four queries whatever the number of engagements): a large MSP's
    technician has hundreds of engagements, and building model instances for them and their
    areas and sites cost more than the page they were resolved for.
    """
    rows = list(
        Engagement.objects.filter(
            provider_id__in=provider_ids,
            status=EngagementStatus.ACTIVE,
            tenant__is_active=True,
            starts_on__lte=today,
        )
        .exclude(ends_on__lt=today)
        .values_list("pk", "tenant_id", "provider_id", "party__pk", "allowed_actions")
    )
    ids = [row[0] for row in rows]
    scope: dict[str, dict[int, set[int]]] = {"areas": {}, "sites": {}, "groups": {}}
    for name, through, column in (
        ("areas", Engagement.service_areas.through, "servicearea_id"),
        ("sites", Engagement.sites.through, "site_id"),
        ("groups", Engagement.asset_groups.through, "assetgroup_id"),
    ):
        for engagement_id, target_id in through.objects.filter(engagement_id__in=ids).values_list(
            "engagement_id", column
        ):
            scope[name].setdefault(engagement_id, set()).add(target_id)
    accesses = []
    for engagement_id, tenant_id, provider_id, party_id, actions in rows:
        sites = frozenset(scope["sites"].get(engagement_id, ()))
        groups = frozenset(scope["groups"].get(engagement_id, ()))
        for pa in provider_accesses:
            if pa.provider_id != provider_id:
                continue
            accesses.append(
                TenantAccess(
                    tenant_id=tenant_id,
                    membership_id=pa.membership_id,
                    role_key=pa.role_key,
                    permissions=pa.permissions,
                    party_id=party_id,
                    provider_id=provider_id,
                    engagement_id=engagement_id,
                    service_area_ids=frozenset(scope["areas"].get(engagement_id, ())),
                    site_ids=sites or None,
                    asset_group_ids=groups or None,
                    engagement_actions=frozenset(actions),
                    user_id=user.pk,
                )
            )
    return accesses
