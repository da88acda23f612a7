"""Every write about enrolment and device credentials. Keyword-only, actor first, one
transaction, audited inside it (decision 0027: enrolment, rotation and revocation are
audited; a check-in is not, see ``checkin_services``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from tandem.agents.credentials import (
    DEVICE_TAG,
    ENROLMENT_TAG,
    find_enrolment_token,
    new_secret,
)
from tandem.agents.models import AgentState, DeviceCredential, EnrolmentToken
from tandem.agents.normalise import OS_FAMILIES
from tandem.agents.permissions import MANAGE_ENROLMENT
from tandem.agents.policies import may_place
from tandem.agents.wire import EnrolRequest, WireError
from tandem.assets.models import Device
from tandem.assets.services import register_device
from tandem.audit.services import record_audit
from tandem.core.errors import Conflict, InvalidInput, Refused
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.core.validation import clean_name
from tandem.tenancy.models import AssetGroup, Site, Tenant

#: How long an enrolment token lives when its maker names no expiry, and at most.
DEFAULT_TOKEN_DAYS = 7
MAX_TOKEN_DAYS = 365
#: Seconds between an agent's check-ins (it adds ±10 % jitter): 100,000 devices make
#: 1,000 check-ins per second (issue 11's target).
CHECK_IN_INTERVAL = 100


def create_enrolment_token(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    expires_at: dt.datetime | None = None,
    max_uses: int | None = None,
    site: Site | None = None,
    asset_group: AssetGroup | None = None,
) -> tuple[EnrolmentToken, str]:
    """A new enrolment token for ``tenant`` (devices it enrols are placed at ``site`` and in
    ``asset_group``). Returns the token and its secret, which is shown once and never kept."""
    authorize(actor, MANAGE_ENROLMENT, tenant)
    if not may_place(
        actor,
        tenant_id=tenant.pk,
        site_id=site.pk if site else None,
        asset_group_id=asset_group.pk if asset_group else None,
    ):
        raise Refused("Your engagement does not cover devices placed there.")
    now = timezone.now()
    expires_at = expires_at or now + dt.timedelta(days=DEFAULT_TOKEN_DAYS)
    if expires_at <= now or expires_at > now + dt.timedelta(days=MAX_TOKEN_DAYS):
        raise InvalidInput({"expires_at": [f"Between now and {MAX_TOKEN_DAYS} days from now."]})
    if max_uses is not None and not 1 <= max_uses <= 1_000_000:
        raise InvalidInput({"max_uses": ["Between 1 and 1,000,000, or empty for no limit."]})
    for placed, label in ((site, "site"), (asset_group, "asset_group")):
        if placed is not None and placed.tenant_id != tenant.pk:
            raise InvalidInput({label: ["Not found in this tenant."]})
    raw, prefix, secret_hash = new_secret(ENROLMENT_TAG)
    token = EnrolmentToken(
        tenant=tenant,
        name=clean_name(name, max_length=200),
        site=site,
        asset_group=asset_group,
        prefix=prefix,
        secret_hash=secret_hash,
        expires_at=expires_at,
        max_uses=max_uses,
        created_by_id=actor.user_id,
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        token.save()
        record_audit(
            actor=actor,
            action="agents.create_enrolment_token",
            target=token,
            tenant_id=tenant.pk,
            changes={
                "name": [None, token.name],
                "site": [None, site.name if site else None],
                "asset_group": [None, asset_group.name if asset_group else None],
                "expires_at": [None, expires_at.isoformat()],
                "max_uses": [None, max_uses],
            },
        )
    return token, raw


def revoke_enrolment_token(*, actor: Principal, token: EnrolmentToken) -> EnrolmentToken:
    """Stop a token enrolling anything more; devices it enrolled keep their credentials."""
    authorize(actor, MANAGE_ENROLMENT, token)
    if token.revoked_at is not None:
        raise Conflict("This enrolment token is already revoked.")
    with transaction.atomic(), within_tenant(token.tenant_id):
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record_audit(
            actor=actor,
            action="agents.revoke_enrolment_token",
            target=token,
            tenant_id=token.tenant_id,
            changes={"revoked_at": [None, token.revoked_at.isoformat()]},
        )
    return token


@dataclass(frozen=True)
class Enrolment:
    device: Device
    #: The device credential's secret, for the answer only: the server keeps its hash.
    credential: str


def _live_token(raw: str, now: dt.datetime) -> EnrolmentToken:
    """The locked, usable token for ``raw``; the refusal says which rule failed."""
    with system_context("find the enrolment token an agent presents"):
        found = find_enrolment_token(raw)
    if found is None:
        raise WireError(401, "unknown_token", "The enrolment token is not known.")
    with within_tenant(found.tenant_id):
        token = EnrolmentToken.objects.select_for_update().select_related("tenant").get(pk=found.pk)
    if token.revoked_at is not None:
        raise WireError(403, "revoked_token", "The enrolment token was revoked.")
    if token.expires_at <= now:
        raise WireError(403, "expired_token", "The enrolment token has expired.")
    if token.max_uses is not None and token.uses >= token.max_uses:
        raise WireError(403, "used_up_token", "The enrolment token has been used up.")
    return token


def _site_for(token: EnrolmentToken, requested: str | None) -> Site | None:
    """The token's site, else the site the agent names (by name, in the token's tenant)."""
    if token.site is not None or not requested:
        return token.site
    site = Site.objects.filter(tenant_id=token.tenant_id, name__iexact=requested.strip()).first()
    if site is None:
        raise WireError(422, "unknown_site", f"No site named {requested!r} in this tenant.")
    return site


def enrol_device(*, actor: Principal, raw_token: str, request: EnrolRequest) -> Enrolment:
    """Trade an enrolment token for a device and its credential (decision 0025).

    The same ``hardware_id`` in the tenant is the same device: it gets a new credential and
    its old ones are revoked. Refusals (unknown, revoked, expired, used-up token; unknown
    site) write nothing. The device itself is made by the assets app (``register_device``).
    """
    now = timezone.now()
    facts = request.device
    with transaction.atomic():
        token = _live_token(raw_token, now)
        with within_tenant(token.tenant_id):
            site = _site_for(token, request.site)
            hardware_id = (facts.hardware_id or "").strip()[:128]
            again = bool(hardware_id) and (
                Device.objects.filter(tenant_id=token.tenant_id, hardware_id=hardware_id).exists()
            )
            os_facts = facts.os or {}
            family = str(os_facts.get("family") or "")
            try:
                # The same hardware id in the tenant is the same device (decision 0025).
                device = register_device(
                    actor=actor,
                    tenant=token.tenant,
                    site=site,
                    asset_group=token.asset_group,
                    hostname=(facts.hostname or "").strip()[:255],
                    hardware_id=hardware_id,
                    serial_number=(facts.serial or "").strip()[:128],
                    os_family=family if family in OS_FAMILIES else "other",
                    replace_existing=True,
                )
            except InvalidInput as exc:
                problems = "; ".join(m for ms in exc.field_errors.values() for m in ms)
                raise WireError(422, "invalid", f"device: {problems}") from exc
            if again:
                DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).update(
                    revoked_at=now
                )
            raw, prefix, secret_hash = new_secret(DEVICE_TAG)
            DeviceCredential.objects.create(
                tenant_id=token.tenant_id, device=device, prefix=prefix, secret_hash=secret_hash
            )
            # A new identity starts with no state: its first inventory comes whole and its
            # report sequence may start again (a reinstalled agent has a new queue).
            AgentState.objects.update_or_create(
                device=device,
                defaults={
                    "tenant_id": token.tenant_id,
                    "document_gz": None,
                    "state_hash": "",
                    "last_sequence": 0,
                    "agent_version": request.agent_version[:40],
                    "rotate_requested_at": None,
                },
            )
            token.uses += 1
            token.save(update_fields=["uses", "updated_at"])
            record_audit(
                actor=actor,
                action="agents.enrol_device_again" if again else "agents.enrol_device",
                target=device,
                tenant_id=token.tenant_id,
                changes={
                    "enrolment_token": [None, f"{token.name} ({token.prefix})"],
                    "hostname": [None, device.hostname],
                    "hardware_id": [None, device.hardware_id],
                    "credential": [None, prefix],
                },
            )
    return Enrolment(device=device, credential=raw)


def request_credential_rotation(*, actor: Principal, device: Device) -> AgentState:
    """Have the device's credential replaced at its next check-in (the new secret travels
    in that answer; the old one works until the new one is first used)."""
    authorize(actor, MANAGE_ENROLMENT, device)
    with transaction.atomic(), within_tenant(device.tenant_id):
        state = AgentState.objects.select_for_update().filter(device=device).first()
        if state is None:
            raise Conflict("This device has no agent enrolled.")
        state.rotate_requested_at = timezone.now()
        state.save(update_fields=["rotate_requested_at", "updated_at"])
        record_audit(
            actor=actor,
            action="agents.request_credential_rotation",
            target=device,
            tenant_id=device.tenant_id,
        )
    return state


def revoke_device_credentials(*, actor: Principal, device: Device, reason: str) -> int:
    """Revoke every credential of ``device``: its agent is refused (``code: revoked``) and
    stops until enrolled again. Returns how many were live."""
    authorize(actor, MANAGE_ENROLMENT, device)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise InvalidInput({"reason": ["Say why the device's credential is revoked."]})
    with transaction.atomic(), within_tenant(device.tenant_id):
        revoked = DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not revoked:
            raise Conflict("This device has no live credential.")
        record_audit(
            actor=actor,
            action="agents.revoke_device_credentials",
            target=device,
            tenant_id=device.tenant_id,
            changes={"reason": [None, reason], "credentials": [revoked, 0]},
        )
    return revoked
