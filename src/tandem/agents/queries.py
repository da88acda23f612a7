"""Reads of the agents app: enrolment tokens in reach, a device's inventory and history.
Every list goes through the policy (``visible``) so a list never shows what a page refuses."""

from __future__ import annotations

from django.db.models import F, QuerySet

from tandem.agents.models import (
    TITLE_FIELDS,
    AgentState,
    EnrolmentToken,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
)
from tandem.agents.permissions import MANAGE_ENROLMENT
from tandem.assets.apps import VIEW_DEVICE
from tandem.assets.models import Device
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal

#: How much history a device page and the API show at most, newest first.
HISTORY_LIMIT = 500


def tokens(principal: Principal, tenant_id: int) -> QuerySet[EnrolmentToken]:
    return visible(
        principal, MANAGE_ENROLMENT, EnrolmentToken.objects.filter(tenant_id=tenant_id)
    ).select_related("site", "asset_group", "created_by")


def token_in_reach(principal: Principal, tenant_id: int, token_id: int) -> EnrolmentToken:
    return get_visible_or_404(
        principal, MANAGE_ENROLMENT, EnrolmentToken.objects.filter(tenant_id=tenant_id), pk=token_id
    )


def device_in_reach(principal: Principal, device_id: int, tenant_id: int | None = None) -> Device:
    """The device if ``principal`` may see it (``assets.view_device``), else 404."""
    queryset = Device.objects.all()
    if tenant_id is not None:
        queryset = queryset.filter(tenant_id=tenant_id)
    return get_visible_or_404(principal, VIEW_DEVICE, queryset, pk=device_id)


def software(device: Device) -> QuerySet[InstalledSoftware]:
    """The device's installed software, each row with its title's facts as attributes
    under the names the rows once had (``name``, ``version``, ...: every reader sees the
    same columns), by name and architecture: one query, one join (decision 0043)."""
    return (
        InstalledSoftware.objects.filter(device=device)
        .annotate(**{name: F(f"title__{name}") for name in TITLE_FIELDS})
        .order_by("title__name", "title__architecture", "title_id")
    )


def pending_updates(device: Device) -> QuerySet[PendingUpdate]:
    return PendingUpdate.objects.filter(device=device).order_by("-security", "name", "id")


def history(device: Device) -> QuerySet[SoftwareChange]:
    return SoftwareChange.objects.filter(device=device).order_by("-learned_at", "-id")


def agent_state(device: Device) -> AgentState | None:
    return (
        AgentState.objects.filter(device=device)
        .only(
            "id",
            "device_id",
            "tenant_id",
            "state_hash",
            "agent_version",
            "last_sequence",
            "rotate_requested_at",
        )
        .first()
    )


def token_by_id(principal: Principal, token_id: int) -> EnrolmentToken:
    """A token the principal manages, in any tenant it reaches; else 404."""
    return get_visible_or_404(
        principal, MANAGE_ENROLMENT, EnrolmentToken.objects.all(), pk=token_id
    )
