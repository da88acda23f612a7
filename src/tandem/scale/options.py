"""What a scale run is asked for and what it reports: options, their limits, the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from tandem.core.errors import InvalidInput
from tandem.scale.plan import MAX_PROVIDERS, MAX_TENANTS, MAX_TICKETS

DEFAULT_TENANTS = 500
DEFAULT_PROVIDERS = 40
DEFAULT_TICKETS = 1_000_000
DEFAULT_SEED = 1
#: Tickets generated and written at a time (bounds the memory of a run).
BATCH_SIZE = 5000


@dataclass(frozen=True)
class ScaleOptions:
    tenants: int = DEFAULT_TENANTS
    providers: int = DEFAULT_PROVIDERS
    tickets: int = DEFAULT_TICKETS
    seed: int = DEFAULT_SEED


@dataclass
class ScaleSummary:
    """What a run wrote, and how long it took."""

    tenants: int = 0
    providers: int = 0
    people: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    open_tickets: int = 0
    seconds: float = 0.0
    as_of: str = ""
    #: Seconds this process spent configuring desks, waiting for generated tickets, writing.
    phases: dict[str, float] = field(default_factory=dict)


def validate(options: ScaleOptions) -> None:
    """Refuse options the generator cannot honour (``InvalidInput``: exit 2, no writes)."""
    errors: dict[str, list[str]] = {}
    if not 1 <= options.tenants <= MAX_TENANTS:
        errors["--tenants"] = [f"Use 1 to {MAX_TENANTS} (tenant slugs are scale-0001...)."]
    if not 1 <= options.providers <= MAX_PROVIDERS:
        errors["--providers"] = [f"Use 1 to {MAX_PROVIDERS} (slugs are scale-msp-01...)."]
    if not 0 <= options.tickets <= MAX_TICKETS:
        errors["--tickets"] = [f"Use 0 to {MAX_TICKETS:,}."]
    if not 0 <= options.seed < 2**63:
        errors["--seed"] = ["Use a whole number from 0."]
    if errors:
        raise InvalidInput(errors)
