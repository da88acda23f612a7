"""The agents API, mounted at ``/api/v1/``: enrolment tokens (list, create with the secret
shown once, revoke), a device's credential (rotate, revoke), and a device's inventory
(software, pending updates, change history). The agent's own protocol is ``/agent/v1/``
(``protocol_views``), never this API.

Thin handlers: the tenant through ``tenant_in_reach`` or ``tenant_in_body``, objects through
the queries (404 out of reach), one service.
"""

from ninja import Router
from ninja.pagination import paginate

from tandem.agents import queries, services
from tandem.agents.permissions import MANAGE_ENROLMENT
from tandem.agents.schemas import (
    EnrolmentTokenCreated,
    EnrolmentTokenIn,
    EnrolmentTokenOut,
    InstalledSoftwareOut,
    PendingUpdateOut,
    RevokeCredentialsIn,
    SoftwareChangeOut,
)
from tandem.assets.apps import VIEW_DEVICE
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination
from tandem.core.errors import InvalidInput
from tandem.core.policies import authorize, visible
from tandem.core.request import TandemRequest, tenant_in_body, tenant_in_reach
from tandem.tenancy.models import AssetGroup, Site

router = Router(tags=["agents"])


@router.get("/tenants/{tenant_id}/enrolment-tokens", response=list[EnrolmentTokenOut])
@paginate(Pagination)
@declare_action(MANAGE_ENROLMENT)
def list_enrolment_tokens(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's enrolment tokens the caller manages, newest first (never their secrets)."""
    tenant = tenant_in_reach(request.principal, tenant_id, MANAGE_ENROLMENT)
    return queries.tokens(request.principal, tenant.pk)


@router.post("/enrolment-tokens", response={201: EnrolmentTokenCreated})
@declare_action(MANAGE_ENROLMENT)
def create_enrolment_token(request: TandemRequest, payload: EnrolmentTokenIn):  # type: ignore[no-untyped-def]
    """A new enrolment token; its ``secret`` is in this answer and nowhere else."""
    principal = request.principal
    tenant = tenant_in_body(principal, payload.tenant_id)
    site = group = None
    if payload.site_id is not None:
        site = (
            visible(principal, "tenancy.view_site", Site.objects.filter(tenant=tenant))
            .filter(pk=payload.site_id)
            .first()
        )
        if site is None:
            raise InvalidInput({"site_id": ["No such site in this tenant."]})
    if payload.asset_group_id is not None:
        group = (
            visible(principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant=tenant))
            .filter(pk=payload.asset_group_id)
            .first()
        )
        if group is None:
            raise InvalidInput({"asset_group_id": ["No such asset group in this tenant."]})
    token, secret = services.create_enrolment_token(
        actor=principal,
        tenant=tenant,
        name=payload.name,
        expires_at=payload.expires_at,
        max_uses=payload.max_uses,
        site=site,
        asset_group=group,
    )
    return 201, {**EnrolmentTokenOut.from_orm(token).dict(), "secret": secret}


@router.post("/enrolment-tokens/{enrolment_token_id}/revoke", response=EnrolmentTokenOut)
@declare_action(MANAGE_ENROLMENT)
def revoke_enrolment_token(request: TandemRequest, enrolment_token_id: Id):  # type: ignore[no-untyped-def]
    """Stop the token enrolling more devices; those it enrolled keep their credentials."""
    principal = request.principal
    token = queries.token_by_id(principal, enrolment_token_id)
    return services.revoke_enrolment_token(actor=principal, token=token)


@router.post("/devices/{device_id}/credential/rotate", response={204: None})
@declare_action(MANAGE_ENROLMENT)
def rotate_device_credential(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """Replace the device's credential at its next check-in."""
    principal = request.principal
    device = queries.device_in_reach(principal, device_id)
    authorize(principal, MANAGE_ENROLMENT, device)
    services.request_credential_rotation(actor=principal, device=device)
    return 204, None


@router.post("/devices/{device_id}/credential/revoke", response={204: None})
@declare_action(MANAGE_ENROLMENT)
def revoke_device_credentials(  # type: ignore[no-untyped-def]
    request: TandemRequest, device_id: Id, payload: RevokeCredentialsIn
):
    """Revoke the device's credentials: its agent is refused and stops until enrolled again."""
    principal = request.principal
    device = queries.device_in_reach(principal, device_id)
    authorize(principal, MANAGE_ENROLMENT, device)
    services.revoke_device_credentials(actor=principal, device=device, reason=payload.reason)
    return 204, None


@router.get("/devices/{device_id}/software", response=list[InstalledSoftwareOut])
@paginate(Pagination)
@declare_action(VIEW_DEVICE)
def list_device_software(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """The software installed on the device, as its agent last reported it."""
    return queries.software(queries.device_in_reach(request.principal, device_id))


@router.get("/devices/{device_id}/pending-updates", response=list[PendingUpdateOut])
@paginate(Pagination)
@declare_action(VIEW_DEVICE)
def list_device_updates(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """The updates the device's package manager offers, security updates first."""
    return queries.pending_updates(queries.device_in_reach(request.principal, device_id))


@router.get("/devices/{device_id}/software-changes", response=list[SoftwareChangeOut])
@paginate(Pagination)
@declare_action(VIEW_DEVICE)
def list_device_software_changes(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """Software installed, removed, upgraded or downgraded, newest first, stamped with the
    time the server learned it."""
    return queries.history(queries.device_in_reach(request.principal, device_id))
