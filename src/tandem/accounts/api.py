"""People-and-access API: who am I, memberships, roles, personal API tokens."""

from django.http import Http404
from ninja import Query, Router
from ninja.pagination import paginate

from tandem.accounts import queries, services
from tandem.accounts.models import Role, User
from tandem.accounts.schemas import (
    MembershipChange,
    MembershipFilter,
    MembershipIn,
    MembershipOut,
    MeOut,
    RoleOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination, ordered
from tandem.core.errors import InvalidInput, Refused
from tandem.core.request import TandemRequest, tenant_in_body
from tandem.tenancy.models import Provider

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut)
@declare_action(policies.SIGNED_IN)
def me(request: TandemRequest):  # type: ignore[no-untyped-def]
    principal = request.principal
    user = User.objects.get(pk=principal.user_id or 0)
    return {
        "user_id": user.pk,
        "email": user.email,
        "is_superuser": principal.is_superuser,
        "accesses": [
            {
                "tenant_id": a.tenant_id,
                "role": a.role_key,
                "party_id": a.party_id,
                "provider_id": a.provider_id,
                "engagement_id": a.engagement_id,
            }
            for a in principal.tenant_accesses
        ],
        "provider_ids": sorted(principal.provider_ids),
    }


@router.get("/memberships", response=list[MembershipOut])
@paginate(Pagination)
@declare_action("accounts.view_membership")
def list_memberships(
    request: TandemRequest, filters: Query[MembershipFilter], ordering: str | None = None
):  # type: ignore[no-untyped-def]
    rows = filters.filter(queries.memberships(request.principal))
    return ordered(
        rows, ordering or "email", {"email": "user__email", "created_at": "created_at", "id": "id"}
    )


@router.post("/memberships", response={201: MembershipOut})
@declare_action("accounts.add_membership")
def add_membership(request: TandemRequest, payload: MembershipIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    role = Role.objects.filter(key=payload.role_key).first()
    if role is None:
        raise InvalidInput({"role_key": ["No such role."]})
    tenant = provider = None
    if payload.tenant_id is not None:
        tenant = tenant_in_body(principal, payload.tenant_id)
    if payload.provider_id is not None:
        provider = Provider.objects.filter(
            pk=payload.provider_id, pk__in=principal.provider_ids
        ).first()
        if provider is None:
            raise InvalidInput({"provider_id": ["No such provider."]})
    membership = services.invite_member(
        actor=principal,
        email=payload.email,
        full_name=payload.full_name,
        role=role,
        tenant=tenant,
        provider=provider,
    )
    return 201, queries.membership(principal, membership.pk)


@router.get("/memberships/{membership_id}", response=MembershipOut)
@declare_action("accounts.view_membership")
def get_membership(request: TandemRequest, membership_id: Id):  # type: ignore[no-untyped-def]
    return queries.membership(request.principal, membership_id)


@router.patch("/memberships/{membership_id}", response=MembershipOut)
@declare_action("accounts.change_membership")
def change_membership(request: TandemRequest, membership_id: Id, payload: MembershipChange):  # type: ignore[no-untyped-def]
    """Give a member another role: only someone who manages the members there, never a role
    above one's own, never demoting the last owner or admin (409)."""
    principal = request.principal
    membership = queries.membership(principal, membership_id)
    role = queries.roles(principal).filter(key=payload.role_key).first()
    if role is None:
        raise InvalidInput({"role_key": ["No such role."]})
    services.change_membership_role(actor=principal, membership=membership, role=role)
    return queries.membership(principal, membership_id)


@router.post("/memberships/{membership_id}/deactivate", response=MembershipOut)
@declare_action("accounts.change_membership")
def deactivate_membership(request: TandemRequest, membership_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    membership = queries.membership(principal, membership_id)
    services.deactivate_membership(actor=principal, membership=membership)
    return queries.membership(principal, membership_id)


@router.get("/roles", response=list[RoleOut])
@paginate(Pagination)
@declare_action("accounts.view_role")
def list_roles(request: TandemRequest):  # type: ignore[no-untyped-def]
    return queries.roles(request.principal).order_by("name")


@router.get("/roles/{role_id}", response=RoleOut)
@declare_action("accounts.view_role")
def get_role(request: TandemRequest, role_id: Id):  # type: ignore[no-untyped-def]
    return policies.get_visible_or_404(
        request.principal, "accounts.view_role", Role.objects.all(), pk=role_id
    )


@router.get("/tokens", response=list[TokenOut])
@paginate(Pagination)
@declare_action(policies.SIGNED_IN)
def list_tokens(request: TandemRequest):  # type: ignore[no-untyped-def]
    """Your tokens; with a token, only the tokens of its own membership."""
    return queries.own_tokens(request.principal)


@router.post("/tokens", response={201: TokenCreated})
@declare_action(policies.SIGNED_IN)
def create_token(request: TandemRequest, payload: TokenIn):  # type: ignore[no-untyped-def]
    """Issue a token (signed in only: a request made with a token is refused, whatever
    membership it names)."""
    principal = request.principal
    if not policies.allowed(principal, "accounts.add_apitoken"):
        raise Refused(services.TOKEN_MINTING_REFUSAL)
    membership = queries.own_memberships(principal).filter(pk=payload.membership_id).first()
    if membership is None:
        raise InvalidInput({"membership_id": ["Choose one of your own active memberships."]})
    user = User.objects.get(pk=principal.user_id or 0)
    token, raw = services.create_api_token(
        actor=principal,
        user=user,
        membership=membership,
        name=payload.name,
        scope=payload.scope,
        expires_in_days=payload.expires_in_days,
    )
    out = TokenOut.from_orm(token).model_dump()
    return 201, {**out, "token": raw}


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
@declare_action(policies.SIGNED_IN)
def revoke_token(request: TandemRequest, token_id: Id):  # type: ignore[no-untyped-def]
    """Revoke one of your tokens; with a (write) token, one of its own membership's."""
    principal = request.principal
    token = queries.own_tokens(principal).select_related("membership").filter(pk=token_id).first()
    if token is None:
        raise Http404("not found")
    return services.revoke_api_token(actor=principal, token=token)
