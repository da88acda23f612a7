"""Reads of tickets and what hangs on them (notes, files, time, the people and parties
who may take them), all through the principal's scope."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from tandem.accounts.models import Membership, Role, User
from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device
from tandem.assets.policies import visible_devices
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.servicedesk import policies
from tandem.servicedesk.tickets.models import Attachment, Comment, Ticket, TicketDevice, TimeEntry
from tandem.tenancy.models import Party

TICKET_ORDER = {
    "number": "number",
    "created_at": "created_at",
    "priority": "priority",
    "status": "status",
    "resolution_due": "resolution_due",
}


def tickets(principal: Principal) -> QuerySet[Ticket]:
    """Tickets the principal may see, ready for a queue page (no per-row queries)."""
    return visible(principal, "servicedesk.view_ticket", Ticket.objects.all()).select_related(
        "party", "assignee", "requester", "service_area", "tenant"
    )


def ticket(principal: Principal, ticket_id: int) -> Ticket:
    return get_visible_or_404(
        principal,
        "servicedesk.view_ticket",
        Ticket.objects.select_related("tenant", "party"),
        pk=ticket_id,
    )


def comments(principal: Principal, ticket: Ticket) -> QuerySet[Comment]:
    return Comment.objects.filter(ticket=ticket).filter(policies.note_tiers(principal, ticket))


def attachments(principal: Principal, ticket: Ticket) -> QuerySet[Attachment]:
    return Attachment.objects.filter(ticket=ticket).filter(policies.note_tiers(principal, ticket))


def author_for_requester(comment: Comment, reader_id: int | None) -> str:
    """Who wrote a note, as its requester is told (portal and API alike): "You", "IT" for
    anyone who wrote for a party (never their name, address or party), or the name an
    e-mail reply came with."""
    if comment.author_id is not None and comment.author_id == reader_id:
        return "You"
    if comment.party_id is not None:
        return "IT"
    return comment.author_label


# --- Reads of the service-desk pages ----------------------------------------------------------
# (Appended to this module as a block, with its own imports.)


def is_it_in(principal: Principal, tenant_id: int) -> bool:
    """True if the principal works in the tenant for a party (its IT or a provider's);
    False for people who are only requesters there, who get the simplified pages."""
    return principal.is_it_in(tenant_id)


def own_party_ids(principal: Principal) -> set[int]:
    """Every party the principal acts for, across tenants ("my parties' tickets")."""
    return {a.party_id for a in principal.tenant_accesses if a.party_id is not None}


def party_names(tenant_id: int) -> dict[int, str]:
    """Names of the tenant's parties, for the parties a ticket names (holder, handoffs, SLA)."""
    return dict(Party.objects.filter(tenant_id=tenant_id).values_list("pk", "name"))


def parties(principal: Principal, tenant_id: int) -> QuerySet[Party]:
    """The tenant's parties the principal may see (a provider: internal IT and its own)."""
    return visible(principal, "tenancy.view_party", Party.objects.filter(tenant_id=tenant_id))


def handoff_targets(principal: Principal, ticket: Ticket) -> QuerySet[Party]:
    """Parties a ticket can be handed to: visible, not the holder, and internal IT or a
    provider whose engagement is active (the service checks the engagement's scope)."""
    return (
        parties(principal, ticket.tenant_id)
        .exclude(pk=ticket.party_id)
        .filter(Q(kind="internal") | Q(engagement__status="active"))
    )


def assignable_people(ticket: Ticket) -> QuerySet[User]:
    """People working for the party that holds ``ticket`` whose role may change tickets: the
    choices of the assign form (``assign_ticket`` checks the chosen person again).

    A provider party's people are the provider's staff, whose memberships belong to no
    tenant, so they are read in a named system context, narrowed to that one provider.
    """

    party = ticket.party
    with system_context("the people of the party holding a ticket"):
        rows = Membership.objects.filter(is_active=True, user__is_active=True)
        if party.provider_id is not None:
            rows = rows.filter(provider_id=party.provider_id)
        else:
            rows = rows.filter(tenant_id=ticket.tenant_id, party_id=party.pk)
        user_ids = sorted(
            {
                user_id
                for user_id, permissions in rows.values_list("user_id", "role__permissions")
                if "servicedesk.change_ticket" in (permissions or [])
            }
        )
    return User.objects.filter(pk__in=user_ids).order_by("full_name", "email")


def visible_time(principal: Principal) -> Q:
    """Which time entries the principal may read, in every tenant it reaches: the tenant's
    own IT all of them, a provider its own party's, requesters none (the ticket page and
    the dashboards share this rule)."""
    whole: set[int] = set()
    own: set[int] = set()
    for access in principal.tenant_accesses:
        if access.party_id is None:
            continue  # a requester
        if access.is_internal:
            whole.add(access.tenant_id)
        else:
            own.add(access.party_id)
    return Q(tenant_id__in=sorted(whole)) | Q(party_id__in=sorted(own))


def time_entries(principal: Principal, ticket: Ticket) -> QuerySet[TimeEntry]:
    """Time on a ticket, as far as ``visible_time`` allows."""
    return (
        TimeEntry.objects.filter(ticket=ticket)
        .filter(visible_time(principal))
        .select_related("user", "party", "service_area")
    )


def it_tenant_ids(principal: Principal) -> set[int]:
    """Tenants where the principal works for a party (its IT or a provider's)."""
    return {t for t in principal.tenant_ids if is_it_in(principal, t)}


def own_parties(principal: Principal) -> list[tuple[int, int, int | None]]:
    """``(party id, tenant id, provider id)`` of every party the principal acts for, from
    its accesses alone (no query)."""
    return sorted(
        {
            (a.party_id, a.tenant_id, a.provider_id)
            for a in principal.tenant_accesses
            if a.party_id is not None
        }
    )


def people_of_parties(
    party_rows: QuerySet[Party] | Iterable[tuple[int, int, int | None]],
) -> QuerySet[User]:
    """People who may work tickets for any of ``party_rows``: the choices of a queue's
    assignee filter (pass only parties the principal sees: ``parties`` above, or
    :func:`own_parties` as ``(party id, tenant id, provider id)``).

    An internal party's people are the tenant's members of that party; a provider party's
    are the provider's staff, whose memberships belong to no tenant, so they are read in a
    named system context narrowed to those providers (as :func:`assignable_people` does).
    """

    internal = Q(pk__in=[])
    providers: set[int] = set()
    found = (
        party_rows.values_list("pk", "tenant_id", "provider_id")
        if isinstance(party_rows, QuerySet)
        else party_rows
    )
    for party_id, tenant_id, provider_id in found:
        if provider_id is not None:
            providers.add(provider_id)
        else:
            internal |= Q(tenant_id=tenant_id, party_id=party_id)
    with system_context("the people of the parties a queue filters by"):
        rows = list(
            Membership.objects.filter(is_active=True, user__is_active=True)
            .filter(internal | Q(provider_id__in=sorted(providers)))
            .values_list("user_id", "role_id")
        )
        # Each role's permissions once, not once per membership (hundreds of them).
        working_roles = {
            pk
            for pk, permissions in Role.objects.filter(
                pk__in=sorted({role_id for _user_id, role_id in rows})
            ).values_list("pk", "permissions")
            if "servicedesk.change_ticket" in (permissions or [])
        }
        user_ids = sorted({user_id for user_id, role_id in rows if role_id in working_roles})
    return User.objects.filter(pk__in=user_ids).order_by("full_name", "email")


# --- Logging a ticket for a caller, canned replies ---------------------------------------------
# (Appended as a block.)

#: Most people one caller search lists: enough to pick from, too few to page through a company.
MAX_CALLERS = 20


def callers(tenant_id: int, text: str, *, include: int | None = None) -> list[User]:
    """The tenant's people (active members of any tenant role) whose name or e-mail contains
    ``text`` (at least two characters), by name; ``include`` adds one chosen person back if
    they are one of them. For the caller picker of a technician who may log tickets in the
    tenant (the caller checks that): a provider's technician sees no people list otherwise.
    """

    text = (text or "").strip()[:100]
    wanted = Q(pk__in=[])
    if len(text) >= 2:
        wanted |= Q(email__icontains=text) | Q(full_name__icontains=text)
    if include is not None:
        wanted |= Q(pk=include)
    with system_context("the people of the tenant a technician logs a call in"):
        members = Membership.objects.filter(tenant_id=tenant_id, is_active=True).values("user_id")
        return list(
            User.objects.filter(wanted, pk__in=members, is_active=True).order_by(
                "full_name", "email"
            )[:MAX_CALLERS]
        )


def ticket_takers(
    principal: Principal, tenant_id: int, *, own_only: bool
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Who a technician logging a call may give the ticket to: ``(parties, people)``.

    The tenant's IT: every party that can hold tickets (internal IT, providers with a live
    engagement); a provider (``own_only``): its own party. People are those who may take a
    ticket of one of these parties (``tickets.services.may_take``: the party's people whose role
    changes tickets), labelled with their party. The service checks the area and site.
    """
    rows = parties(principal, tenant_id).filter(Q(kind="internal") | Q(engagement__status="active"))
    if own_only:
        rows = rows.filter(pk__in=sorted(own_party_ids(principal)))
    found = list(rows.order_by("name").values_list("pk", "tenant_id", "provider_id", "name"))
    people: list[tuple[int, str]] = []
    for pk, tenant, provider, name in found:
        for user in people_of_parties([(pk, tenant, provider)]):
            people.append((user.pk, f"{user.full_name or user.email} ({name})"))
    return [(pk, name) for pk, _t, _p, name in found], people


def takers_by_party(
    party_ids: Iterable[int],
) -> list[tuple[int, str, int, list[tuple[int, str]]]]:
    """For each party: ``(party id, party name, tenant id, [(user id, name), ...])`` of the
    people who may take its tickets (``tickets.services.may_take``: its people whose role changes
    tickets), by party name. The ids must come from tickets the caller may change (a
    queue page's changeable rows); the people are read in one named system context, as
    :func:`people_of_parties` reads them."""

    wanted = sorted(set(party_ids))
    if not wanted:
        return []
    with system_context("who may take the tickets of a queue page's parties"):
        columns = ("pk", "name", "tenant_id", "provider_id")
        found = list(Party.objects.filter(pk__in=wanted).values_list(*columns))
        internal = Q(pk__in=[])
        providers: set[int] = set()
        for pk, _name, tenant_id, provider_id in found:
            if provider_id is None:
                internal |= Q(tenant_id=tenant_id, party_id=pk)
            else:
                providers.add(provider_id)
        # One query: the memberships with their person's name and their role's permissions.
        memberships = (
            Membership.objects.filter(is_active=True, user__is_active=True)
            .filter(internal | Q(provider_id__in=sorted(providers)))
            .values_list(
                "party_id",
                "provider_id",
                "user_id",
                "user__full_name",
                "user__email",
                "role__permissions",
            )
        )
        rows = [
            (party_id, staff_of, user_id, full_name or email)
            for party_id, staff_of, user_id, full_name, email, permissions in memberships
            if "servicedesk.change_ticket" in (permissions or [])
        ]
    groups = []
    for pk, name, tenant_id, provider_id in sorted(found, key=lambda row: row[1]):
        people = sorted(
            {
                (user_id, name)
                for party_id, staff_of, user_id, name in rows
                if (party_id == pk if provider_id is None else staff_of == provider_id)
            },
            key=lambda person: person[1].lower(),
        )
        groups.append((pk, name, tenant_id, people))
    return groups


# --- Devices (decision 0026) ----------------------------------------------------------------
#: The most devices a ticket page offers to pick from (the API names any of them).
DEVICE_CHOICES = 200


def ticket_devices(principal: Principal, ticket: Ticket) -> QuerySet[Device]:
    """The devices a ticket names that the principal may see (a requester: none)."""
    linked = TicketDevice.objects.filter(ticket=ticket).values("device_id")
    return visible_devices(principal, Device.objects.filter(pk__in=linked)).order_by("name", "pk")


def linkable_devices(
    principal: Principal, tenant_id: int, linked: Iterable[int] = ()
) -> list[tuple[int, str]]:
    """What a ticket of the tenant may name, for a form: the active devices the principal
    sees (the first :data:`DEVICE_CHOICES` by name) and those ``linked`` already."""
    rows = visible_devices(principal, Device.objects.filter(tenant_id=tenant_id))
    chosen = rows.filter(Q(status=DeviceStatus.ACTIVE) | Q(pk__in=list(linked)))
    return [
        (pk, f"{name} ({hostname})" if hostname and hostname != name else name)
        for pk, name, hostname in chosen.order_by("name", "pk").values_list(
            "pk", "name", "hostname"
        )[:DEVICE_CHOICES]
    ]


def device_tickets(principal: Principal, device: Device) -> QuerySet[Ticket]:
    """The tickets naming ``device`` that the principal may see, newest first."""
    return (
        tickets(principal)
        .filter(pk__in=TicketDevice.objects.filter(device=device).values("ticket_id"))
        .order_by("-created_at", "-pk")
    )
