"""Reads of a tenant's desk configuration, through the principal's scope: the tenant it may
configure, categories, calendars, SLA policies, workflows and canned replies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from tandem.core import policies
from tandem.core.errors import require
from tandem.core.lookups import IdIn
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.servicedesk import policies as desk_policies
from tandem.servicedesk.choices import DEFAULT_STATUSES, StatusKind
from tandem.servicedesk.config.models import CannedReply, Category, DeskSettings
from tandem.servicedesk.tickets.models import Ticket, TicketEvent
from tandem.sla.models import Calendar, SlaPolicy
from tandem.sla.priority import PriorityMatrix
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import Party, Tenant

#: Badge tone of a status, by what the status means (tenants name their statuses freely).
STATUS_TONES = {
    StatusKind.NEW: "warn",
    StatusKind.OPEN: "info",
    StatusKind.WAITING: "muted",
    StatusKind.RESOLVED: "ok",
    StatusKind.CLOSED: "muted",
}

#: tenant id -> (desk configuration token, statuses): see :func:`workflows`.
_workflows: dict[int, tuple[object, list[list[str]]]] = {}


#: The action every write here is authorized with: the one the creating services use.
CHANGE = "servicedesk.change_matrix"
#: The action the reads use: the tenant's IT and its providers.
VIEW = "servicedesk.view_matrix"


# --- Reads the API and the pages share --------------------------------------------------------


def _reachable(principal: Principal) -> QuerySet[Tenant]:
    """The tenants whose configuration the principal may read."""
    return policies.visible(principal, VIEW, Tenant.objects.all())


def _one(rows: QuerySet[Any], pk: int) -> Any:
    found = rows.filter(pk=pk).first()
    if found is None:
        raise Http404("not found")
    return found


def sla_policies(principal: Principal, tenant_id: int) -> QuerySet[SlaPolicy]:
    """The policies of a tenant the principal may read (``policies.sla_policy_rule``)."""
    return (
        SlaPolicy.objects.filter(tenant_id=tenant_id)
        .filter(desk_policies.sla_policy_rule(principal, tenant_id))
        .select_related("party", "calendar")
    )


def categories(principal: Principal, tenant_id: int) -> QuerySet[Category]:
    """The tenant's categories of the service areas the principal sees (all, for its IT)."""
    return Category.objects.filter(
        tenant_id=tenant_id,
        service_area__in=tenancy_queries.service_areas(principal, tenant_id).values("pk"),
    ).select_related("service_area")


def calendar_for(principal: Principal, calendar_id: int, tenant_id: int | None = None) -> Calendar:
    rows = Calendar.objects.filter(tenant__in=_reachable(principal).values("pk"))
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return _one(rows.select_related("tenant"), calendar_id)  # type: ignore[no-any-return]


def sla_policy_for(
    principal: Principal, sla_policy_id: int, tenant_id: int | None = None
) -> SlaPolicy:
    found = _one(
        SlaPolicy.objects.filter(tenant__in=_reachable(principal).values("pk")).select_related(
            "tenant", "party"
        ),
        sla_policy_id,
    )
    if tenant_id is not None and found.tenant_id != tenant_id:
        raise Http404("not found")
    # Another party's terms are none of a provider's business: not found.
    return _one(sla_policies(principal, found.tenant_id), sla_policy_id)  # type: ignore[no-any-return]


def category_for(principal: Principal, category_id: int, tenant_id: int | None = None) -> Category:
    found = _one(
        Category.objects.filter(tenant__in=_reachable(principal).values("pk")), category_id
    )
    if tenant_id is not None and found.tenant_id != tenant_id:
        raise Http404("not found")
    return _one(categories(principal, found.tenant_id).select_related("tenant"), category_id)  # type: ignore[no-any-return]


def party_in(tenant: Tenant, party_id: int) -> Party:
    """A party of ``tenant`` for a write's input; another tenant's party is bad input."""
    party = Party.objects.filter(tenant=tenant, pk=party_id).first()
    require(party is not None, "party_id", "No such party in this tenant.")
    assert party is not None
    return party


def used_status_keys(tenant: Tenant) -> set[str]:
    """Status keys any ticket has had (now or in its history): permanent keys."""
    # ``order_by()``: with the models' default ordering, DISTINCT would also be taken over
    # the ordering column and return every row (300,000 events for a busy tenant).
    now = Ticket.objects.filter(tenant=tenant).order_by().values_list("status", flat=True)
    before = TicketEvent.objects.filter(tenant=tenant).order_by().values_list("status", flat=True)
    return set(now.distinct()) | set(before.distinct())


def workflows(tenant_ids: Iterable[int]) -> dict[int, list[list[str]]]:
    """Each tenant's statuses ``[[key, name, kind], ...]`` (every tenant has its settings
    row from its creation; an id that names none gets the default workflow).

    Kept per process against each tenant's desk-configuration token, which changes with
    every change of its settings (``desk_config``): a provider's queue page needs the
    workflows of hundreds of tenants, and decoding them all on every page cost 8 ms.
    Treat the lists returned as read-only.
    """
    wanted = set(tenant_ids)
    tokens = dict(
        DeskSettings.objects.filter(IdIn("tenant_id", wanted)).values_list(
            "tenant_id", "config_token"
        )
    )
    stale = [t for t, token in tokens.items() if _workflows.get(t, (None,))[0] != token]
    if stale:
        for tenant_id, token, statuses in DeskSettings.objects.filter(
            IdIn("tenant_id", stale)
        ).values_list("tenant_id", "config_token", "statuses"):
            _workflows[tenant_id] = (token, statuses)
    default = [list(s) for s in DEFAULT_STATUSES]
    found = {t: _workflows[t][1] for t in tokens if t in _workflows}
    return {tenant_id: found.get(tenant_id, default) for tenant_id in wanted}


def canned_replies(principal: Principal, tenant_id: int) -> QuerySet[CannedReply]:
    """The canned replies of a tenant the principal may read: the tenant-wide ones and its
    own party's (``servicedesk.view_cannedreply``)."""
    return visible(
        principal,
        "servicedesk.view_cannedreply",
        CannedReply.objects.filter(tenant_id=tenant_id).select_related("party"),
    )


def canned_reply(principal: Principal, canned_reply_id: int, action: str) -> CannedReply:
    """One canned reply the principal may ``action`` (view or change); else not found."""
    return get_visible_or_404(
        principal, action, CannedReply.objects.select_related("party"), pk=canned_reply_id
    )


# --- Settings and reference data --------------------------------------------------------------


def priority_in(matrix: PriorityMatrix, impact: int, urgency: int) -> int:
    """Priority number (1 = P1) for 1-based impact and urgency levels in ``matrix``."""
    require(1 <= impact <= len(matrix.impacts), "impact", f"Use 1 to {len(matrix.impacts)}.")
    require(1 <= urgency <= len(matrix.urgencies), "urgency", f"Use 1 to {len(matrix.urgencies)}.")
    label = matrix.priority_for(matrix.impacts[impact - 1], matrix.urgencies[urgency - 1])
    return matrix.priorities.index(label) + 1


def status_kinds(settings: DeskSettings) -> dict[str, str]:
    return {key: kind for key, _name, kind in settings.statuses}


def status_labels(statuses: Iterable[Sequence[str]]) -> dict[str, tuple[str, str]]:
    """``{key: (name, badge tone)}`` of a tenant's workflow."""
    labels = {}
    for key, name, kind in statuses:
        labels[key] = (name, STATUS_TONES.get(kind, "muted"))  # type: ignore[call-overload]
    return labels
