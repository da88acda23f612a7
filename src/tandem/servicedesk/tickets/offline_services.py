"""The desk's side of offline alerts (decision 0032): a device that went offline opens one
ticket, routed by the responsibility matrix like any other; when it checks in again the
ticket is told so and, per the policy, resolved.

Called by the desk's subscribers of ``device.went_offline`` and ``device.came_back``, in
the worker, with the system's principal: the ticket is opened through ``create_ticket``
(routing, SLA clocks, ``ticket.opened``, audit) and the note and resolution through
``add_comment`` and ``change_status``, so nothing here writes a ticket by itself. The
:class:`OfflineTicket` row (one per episode) makes a retried or repeated event open nothing
twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.accounts.models import Membership, User
from tandem.assets.events import DeviceCameBack, DeviceWentOffline
from tandem.assets.models import OfflineEpisode
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.servicedesk import desk_config
from tandem.servicedesk.choices import DONE_KINDS, TicketSource, Via, Visibility
from tandem.servicedesk.tickets import note_services
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import OfflineTicket, Ticket
from tandem.tenancy.models import Site, Tenant

log = logging.getLogger(__name__)

#: The role whose holder a ticket names as requester when the policy's saver is gone.
OWNER_ROLE = "tenant-owner"


def _actor() -> Principal:
    return system_principal("offline alert")


def _when(value: str | None) -> str:
    if not value:
        return "never"
    return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z").strip()


def _requester(tenant: Tenant, requester_id: int | None) -> User | None:
    """The person the policy names (who last saved it), else the tenant's first owner."""
    with system_context("the requester of an offline alert ticket"):
        if requester_id is not None:
            user = User.objects.filter(pk=requester_id, is_active=True).first()
            if user is not None:
                return user
        membership = (
            Membership.objects.filter(tenant=tenant, role__key=OWNER_ROLE, user__is_active=True)
            .select_related("user")
            .order_by("id")
            .first()
        )
    return membership.user if membership is not None else None


def _describe(event: DeviceWentOffline, site_name: str | None) -> str:
    where = (
        f"the offline alert policy of {site_name}"
        if site_name
        else "the tenant's offline alert policy"
    )
    lines = [
        f"{event.name} has not checked in for more than {event.minutes} minutes.",
        "",
        f"Device: {event.name}" + (f" ({event.hostname})" if event.hostname else ""),
        f"Last check-in: {_when(event.last_seen_at)}",
        f"Noticed offline: {_when(event.started_at)}",
        f"Protected: {'yes' if event.protected else 'no'}",
        f"Alert: {where}, after {event.minutes} minutes without a check-in.",
        f"Device page: /devices/{event.device_id}/",
        "",
        "This ticket was opened by Tandem. When the device checks in again, a note says so"
        + (" and the ticket is resolved." if event.resolve_on_return else "."),
    ]
    return "\n".join(lines)


def open_offline_ticket(event: DeviceWentOffline) -> Ticket | None:
    """Open the one ticket of the device's offline episode, linked to the device and routed
    by the matrix (the policy's service area, the device's site and asset group). Returns
    the ticket, or None when the episode has one already or the tenant has nobody to name
    as requester (logged: the alert is kept in the audit log and the episode)."""
    tenant_id = event.tenant_id
    assert tenant_id is not None
    with system_context("open an offline alert ticket"):
        tenant = Tenant.objects.get(pk=tenant_id)
        if OfflineTicket.objects.filter(episode_id=event.episode_id).exists():
            return None
        if not OfflineEpisode.objects.filter(pk=event.episode_id).exists():
            return None  # the device was deleted since
        site_name = (
            Site.objects.filter(pk=event.site_id).values_list("name", flat=True).first()
            if event.site_id
            else None
        )
    requester = _requester(tenant, event.requester_id)
    if requester is None:
        log.warning(
            "offline alert of device %s: tenant %s has no owner", event.device_id, tenant_id
        )
        return None
    matrix = desk_config.current(tenant_id).priority_matrix
    actor = _actor()
    with transaction.atomic():
        ticket = ticket_services.create_ticket(
            actor=actor,
            tenant=tenant,
            requester=requester,
            subject=f"Device offline: {event.name}"[:200],
            description=_describe(event, site_name),
            service_area_id=event.service_area_id,
            # A policy's levels beyond the tenant's matrix (it was made smaller since) take
            # its last level rather than failing the alert.
            impact=min(event.impact, len(matrix.impacts)),
            urgency=min(event.urgency, len(matrix.urgencies)),
            site_id=event.site_id,
            asset_group_id=event.asset_group_id,
            via=Via.API,
            source=TicketSource.MONITORING,
            device_ids=[event.device_id],
        )
        try:
            with transaction.atomic(), within_tenant(tenant_id):
                OfflineTicket.objects.create(
                    tenant_id=tenant_id, episode_id=event.episode_id, ticket=ticket
                )
        except IntegrityError:
            # Another run opened it between our check and now: undo ours.
            transaction.set_rollback(True)
            return None
    return ticket


def note_device_back(event: DeviceCameBack) -> Ticket | None:
    """Tell the episode's ticket that the device checked in again, and resolve it when the
    policy says so and it is still open. Once per episode (``came_back_at``)."""
    tenant_id = event.tenant_id
    assert tenant_id is not None
    with system_context("note an offline device's return"):
        link = (
            OfflineTicket.objects.select_related("ticket")
            .filter(episode_id=event.episode_id, came_back_at__isnull=True)
            .first()
        )
    if link is None:
        return None  # no ticket was opened (or it was told already)
    actor = _actor()
    ticket = link.ticket
    with transaction.atomic(), within_tenant(tenant_id):
        note_services.add_comment(
            actor=actor,
            ticket=ticket,
            body=(
                f"{event.name} checked in again at {_when(event.seen_at)} "
                f"(offline since {_when(event.offline_since)})."
            ),
            visibility=Visibility.SHARED,
            via=Via.API,
        )
        ticket.refresh_from_db()
        config = desk_config.current(tenant_id)
        status = config.resolved_status
        if (
            event.resolve_on_return
            and status is not None
            and config.status_kinds.get(ticket.status) not in DONE_KINDS
        ):
            ticket_services.change_status(actor=actor, ticket=ticket, status=status)
        OfflineTicket.objects.filter(pk=link.pk).update(came_back_at=timezone.now())
    return ticket
