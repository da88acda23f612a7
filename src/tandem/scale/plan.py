"""The shape of a scale run, decided before anything is written: pure and seeded.

Tenant sizes are log-normal (a few tenants with tens of thousands of tickets, many with
hundreds); provider popularity follows a Zipf-like curve (the first providers serve 50+
tenants at the default size); each tenant engages one to four providers of different kinds,
and each kind takes the service areas it sells. Everything derives from the seed alone, so
the same options always plan the same data.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tandem.scale import texts

#: (time zone, holiday country, holiday subdivision) of the tenants, in rotation.
LOCALES: tuple[tuple[str, str, str], ...] = (
    ("Europe/Berlin", "DE", "BE"),
    ("Europe/London", "GB", "ENG"),
    ("America/New_York", "US", "NY"),
    ("America/Chicago", "US", "IL"),
    ("Europe/Paris", "FR", ""),
    ("America/Los_Angeles", "US", "CA"),
    ("Europe/Amsterdam", "NL", ""),
    ("Australia/Sydney", "AU", "NSW"),
)

#: What each kind of provider sells, most specialised kinds first: an area goes to the
#: first engaged provider (in this order) whose kind sells it.
PROVIDER_KINDS: dict[str, tuple[str, ...]] = {
    "mssp": ("security-monitoring", "identity"),
    "infra": ("server-patching", "backup", "network", "cloud"),
    "apps": ("lob-apps", "cloud"),
    "msp": ("tier1-desk", "endpoint-patching", "server-patching", "backup", "network", "cloud"),
}
#: Kinds of the providers in rotation (index 0 is the most popular provider).
KIND_ROTATION = ("msp", "mssp", "infra", "msp", "apps", "msp", "infra", "mssp")
#: Kinds that work around the clock (24/7 coverage and SLA calendar); the others keep
#: extended business hours, and full-service MSPs add a 24/7 on-call for P1-P2.
AROUND_THE_CLOCK_KINDS = frozenset({"mssp", "infra"})

#: How many providers a tenant engages: 1, 2, 3 or 4 (mean about 2).
ENGAGEMENT_WEIGHTS = (0.35, 0.35, 0.2, 0.1)

MAX_TENANTS = 9999
MAX_PROVIDERS = 99
MAX_TICKETS = 20_000_000


@dataclass(frozen=True)
class ProviderPlan:
    index: int  # 1-based
    slug: str
    name: str
    kind: str
    technicians: int


@dataclass(frozen=True)
class TenantPlan:
    index: int  # 1-based
    slug: str
    name: str
    time_zone: str
    country: str
    subdivision: str
    tickets: int
    #: Indices (1-based) of the engaged providers, in the order they were chosen.
    providers: tuple[int, ...]
    #: Internal technicians it1..itN (the owner works the desk too).
    technicians: int
    requesters: int
    sites: int
    #: Internal IT keeps the tier-1 desk even with a full-service MSP (co-managed).
    keeps_desk: bool


@dataclass(frozen=True)
class Plan:
    seed: int
    tenants: tuple[TenantPlan, ...]
    providers: tuple[ProviderPlan, ...]

    @property
    def tickets(self) -> int:
        return sum(t.tickets for t in self.tenants)


def tenant_slug(index: int) -> str:
    return f"scale-{index:04d}"


def provider_slug(index: int) -> str:
    return f"scale-msp-{index:02d}"


def ticket_counts(total: int, tenants: int, rng: random.Random) -> list[int]:
    """Split ``total`` tickets over ``tenants`` log-normally (sigma 1.2), largest remainder
    rounding so the counts add up exactly. No tenant gets more than 6 % of a large run."""
    weights = [rng.lognormvariate(0.0, 1.2) for _ in range(tenants)]
    cap = max(weights) if tenants < 50 else 0.06 * sum(weights)
    weights = [min(w, cap) for w in weights]
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [math.floor(x) for x in exact]
    short = total - sum(counts)
    by_remainder = sorted(range(tenants), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[:short]:
        counts[i] += 1
    return counts


def _pick_providers(
    rng: random.Random, providers: tuple[ProviderPlan, ...], weights: list[float]
) -> tuple[int, ...]:
    """One to four providers, weighted by popularity, of different kinds where possible."""
    wanted = rng.choices((1, 2, 3, 4), weights=ENGAGEMENT_WEIGHTS)[0]
    wanted = min(wanted, len(providers))
    chosen: list[int] = []
    kinds: set[str] = set()
    pool = list(range(len(providers)))
    while len(chosen) < wanted and pool:
        fresh = [i for i in pool if providers[i].kind not in kinds]
        candidates = fresh or pool
        pick = rng.choices(candidates, weights=[weights[i] for i in candidates])[0]
        pool.remove(pick)
        chosen.append(providers[pick].index)
        kinds.add(providers[pick].kind)
    return tuple(chosen)


def make_plan(*, tenants: int, providers: int, tickets: int, seed: int) -> Plan:
    """Decide every tenant's size, locale, providers and people from the seed."""
    rng = random.Random(seed)
    popularity = [1.0 / (rank + 1) ** 0.9 for rank in range(providers)]
    provider_plans: list[ProviderPlan] = []
    for i in range(1, providers + 1):
        word = texts.PROVIDER_WORDS[(i - 1) % len(texts.PROVIDER_WORDS)]
        kind = KIND_ROTATION[(i - 1) % len(KIND_ROTATION)]
        label = {"msp": "IT", "mssp": "Security", "infra": "Infrastructure", "apps": "Apps"}
        provider_plans.append(
            ProviderPlan(
                index=i,
                slug=provider_slug(i),
                name=f"{word} {label[kind]} {i:02d}",
                kind=kind,
                technicians=0,  # set below, from the work it takes on
            )
        )
    counts = ticket_counts(tickets, tenants, rng)
    tenant_plans: list[TenantPlan] = []
    load = [0] * providers
    for i in range(1, tenants + 1):
        count = counts[i - 1]
        zone, country, subdivision = LOCALES[(i - 1) % len(LOCALES)]
        chosen = _pick_providers(rng, tuple(provider_plans), popularity)
        for p in chosen:
            load[p - 1] += count
        word = texts.COMPANY_WORDS[rng.randrange(len(texts.COMPANY_WORDS))]
        kind = texts.COMPANY_KINDS[rng.randrange(len(texts.COMPANY_KINDS))]
        tenant_plans.append(
            TenantPlan(
                index=i,
                slug=tenant_slug(i),
                name=f"{word} {kind} {i:04d}",
                time_zone=zone,
                country=country,
                subdivision=subdivision,
                tickets=count,
                providers=chosen,
                technicians=min(12, 2 + count // 4000),
                requesters=max(3, min(2500, count // 20)),
                sites=1 + (count > 2000) + (count > 10_000),
                keeps_desk=rng.random() < 0.25,
            )
        )
    # Provider staff grows with the tickets of the tenants it serves (about one technician
    # per 8,000 of their tickets), three at least.
    provider_plans = [
        ProviderPlan(p.index, p.slug, p.name, p.kind, max(3, min(40, load[p.index - 1] // 8000)))
        for p in provider_plans
    ]
    return Plan(seed=seed, tenants=tuple(tenant_plans), providers=tuple(provider_plans))


def responsibilities(tenant: TenantPlan, kinds: dict[int, str]) -> dict[str, int | None]:
    """Which engaged provider (index) is Responsible for each service area; None: internal.

    The most specialised kind takes an area first; onboarding and, for tenants that keep
    it, the tier-1 desk stay with internal IT."""
    owner: dict[str, int | None] = {}
    ordered = sorted(tenant.providers, key=lambda p: list(PROVIDER_KINDS).index(kinds[p]))
    for area in texts.AREA_TEXTS:
        owner[area] = None
        if area == "onboarding" or (area == "tier1-desk" and tenant.keeps_desk):
            continue
        for p in ordered:
            if area in PROVIDER_KINDS[kinds[p]]:
                owner[area] = p
                break
    return owner
