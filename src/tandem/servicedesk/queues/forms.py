"""Forms of the queue page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from tandem.core.lookups import IdIn
from tandem.core.policies import visible
from tandem.core.principal import Principal
from tandem.core.validation import MAX_ID, parse_id
from tandem.core.widgets import QuickSelect
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.queues import queries
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import Party, ServiceArea, Tenant

#: Beyond this many tenants, the cross-tenant queue asks for a tenant before it offers
#: parties and service areas to filter by.
MANY_TENANTS = 10


class QueueForm(forms.Form):
    """The queue's filters (a GET form: it reads, never writes). With ``tenant``, the filters
    of that one tenant's queue: no tenant choice, and only that tenant's statuses, parties,
    people and service areas."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Subject, description or #number"}
        ),
    )
    scope = forms.ChoiceField(
        widget=QuickSelect,
        required=False,
        label="Show",
        choices=[
            ("", "Everything I see"),
            ("mine", "Assigned to me"),
            ("my_parties", "Held by my parties"),
        ],
    )
    tenant = forms.TypedChoiceField(
        widget=QuickSelect, required=False, coerce=int, empty_value=None
    )
    status = forms.ChoiceField(widget=QuickSelect, required=False)
    priority = forms.TypedChoiceField(
        widget=QuickSelect,
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any priority"), *((i, f"P{i}") for i in range(1, 6))],
    )
    party = forms.TypedChoiceField(
        widget=QuickSelect, required=False, coerce=int, empty_value=None, label="Held by"
    )
    assignee = forms.TypedChoiceField(
        widget=QuickSelect, required=False, coerce=int, empty_value=None, label="Assignee"
    )
    service_area = forms.TypedChoiceField(
        widget=QuickSelect, required=False, coerce=int, empty_value=None, label="Service area"
    )
    sla = forms.ChoiceField(
        widget=QuickSelect,
        required=False,
        label="SLA",
        choices=[("", "Any SLA state"), *queries.SLA_STATES.items()],
    )

    def __init__(
        self,
        *args: Any,
        principal: Principal,
        tenant: Tenant | None = None,
        priorities: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        #: True when the party and service-area filters wait for a tenant to be chosen.
        self.tenant_first = False
        #: The statuses of the tenants the form filters, by tenant (``config_queries.workflows``).
        self.workflows: dict[int, list[list[str]]] = {}
        field = self.fields
        if tenant is None:
            tenants = tenancy_queries.tenants(principal).order_by("name")
            field["tenant"].choices = [("", "Every tenant"), *tenants.values_list("pk", "name")]  # type: ignore[attr-defined]
            it = sorted(ticket_queries.it_tenant_ids(principal))
            self.workflows = config_queries.workflows(principal.tenant_ids)
            statuses = sorted({(s[0], s[1]) for w in self.workflows.values() for s in w})
        else:
            del field["tenant"]
            it = [tenant.pk] if ticket_queries.is_it_in(principal, tenant.pk) else []
            # One tenant's statuses in the order of its workflow (new before closed), and its
            # own priority names when the page gives them.
            self.workflows = config_queries.workflows([tenant.pk])
            statuses = [(s[0], s[1]) for s in self.workflows[tenant.pk]]
            if priorities:
                field["priority"].choices = [  # type: ignore[attr-defined]
                    ("", "Any priority"),
                    *((number, str(name)) for number, name in enumerate(priorities, start=1)),
                ]
        field["status"].choices = [  # type: ignore[attr-defined]
            ("", "Any status"),
            *queries.STATUS_GROUPS.items(),
            *statuses,
        ]
        if not it:
            # Requesters see "IT": never which party holds a ticket, who works it, nor its
            # SLA clocks.
            for name in ("scope", "party", "assignee", "service_area", "sla"):
                del field[name]
            return
        if tenant is None and len(it) > MANY_TENANTS:
            # An MSP technician works in hundreds of tenants: every tenant's parties, people
            # and service areas would be thousands of options (each area name once per
            # tenant), slow to build and useless to pick from. Until a tenant is chosen,
            # offer the people of the technician's own parties only.
            picked = parse_id(self.data.get("tenant")) if self.is_bound else None
            if picked in it:
                it = [picked]
            else:
                self.tenant_first = True
        if self.tenant_first:
            people = ticket_queries.people_of_parties(ticket_queries.own_parties(principal))
            for name in ("party", "service_area"):
                field[name].choices = [("", "Choose a tenant first")]  # type: ignore[attr-defined]
        else:
            parties = visible(
                principal, "tenancy.view_party", Party.objects.filter(IdIn("tenant_id", it))
            )
            people = ticket_queries.people_of_parties(parties)
            field["party"].choices = [  # type: ignore[attr-defined]
                ("", "Any party"),
                *parties.order_by("name").values_list("pk", "name"),
            ]
            areas = visible(
                principal,
                "tenancy.view_servicearea",
                ServiceArea.objects.filter(IdIn("tenant_id", it)),
            )
            field["service_area"].choices = [  # type: ignore[attr-defined]
                ("", "Any service area"),
                *areas.order_by("name").values_list("pk", "name"),
            ]
        field["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            *(
                (pk, name or email)
                for pk, name, email in people.values_list("pk", "full_name", "email")
            ),
        ]


class BulkForm(forms.Form):
    """Change the checked tickets: one action, applied to all of them or to none."""

    ticket_ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(
        choices=[("assign", "Assign"), ("status", "Set status"), ("priority", "Set urgency")]
    )
    assignee = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = forms.CharField(required=False, max_length=40)
    urgency = forms.IntegerField(required=False, min_value=1, max_value=9)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the lookup below decides what exists for this person.
        # One beyond the database's range exists nowhere (and would overflow the lookup).
        self.fields["ticket_ids"].valid_value = lambda value: parse_id(value) is not None  # type: ignore[attr-defined]


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100)
    query = forms.CharField(required=False, max_length=2000)
