"""One tenant's desk as plain data: what the ticket generator needs, and nothing of Django.

Built by ``setup.load_desk`` from the database through the services' own read functions,
then handed to worker processes (it pickles; the workers never import Django).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tandem.responsibility import routing
from tandem.sla import clock
from tandem.sla.calendar import BusinessCalendar


class PartyCalendars(dict[Any, BusinessCalendar]):
    """Each party's SLA calendar; parties without one use the default (key 0), as
    ``sla_bridge.PartyCalendars`` does."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, super().get(0))


@dataclass
class Desk:
    tenant_id: int
    #: 1-based index of the tenant in the plan (seeds its random streams).
    index: int
    time_zone: str
    areas: dict[str, int]  # service area key -> id
    categories: dict[int, int]  # service area id -> category id
    sites: list[int]
    internal: int
    routing: routing.RoutingContext
    #: For each (area, site) the parties that may hold a ticket (internal IT always).
    eligible: dict[tuple[int | None, int | None], frozenset[int]]
    priorities: dict[tuple[int, int], int]  # (impact, urgency) -> priority
    first_status: str
    ping_pong_seconds: int
    #: The people of each party who work its tickets: (user id, e-mail).
    people: dict[int, list[tuple[int, str]]]
    requesters: list[tuple[int, str]]
    policies: dict[int, clock.SlaPolicy]
    calendars: PartyCalendars
