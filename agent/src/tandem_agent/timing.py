"""Pure timing rules: retry backoff with full jitter, the check-in interval, clock offset.

Pure functions of their inputs (the random source is a parameter), so tests pin them down
exactly and the service loop stays a thin shell around them.
"""

from __future__ import annotations

import random
from datetime import datetime

#: Retry delays start here and double on each failure, up to the cap.
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 900.0


def backoff_delay(
    failures: int,
    *,
    rng: random.Random,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1 for the first).

    "Full jitter": a uniform draw in ``[0, min(cap, base * 2**(failures-1))]``, so agents
    that lost the server together do not come back together. A server's ``Retry-After`` is
    a floor: the agent never comes back sooner than asked.
    """
    if failures < 1:
        return 0.0
    ceiling = min(cap, base * 2 ** min(failures - 1, 32))
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def jittered_interval(interval: float, *, rng: random.Random, spread: float = 0.1) -> float:
    """The wait until the next check-in: ``interval`` ± 10 %, so check-ins spread out."""
    return max(1.0, interval * rng.uniform(1 - spread, 1 + spread))


def clock_offset(*, sent: datetime, received: datetime, server_time: datetime) -> float:
    """Seconds the server's clock is ahead of ours, taking the midpoint of the exchange.

    The agent records it from every response and sends it with its reports; the server uses
    its own receive time for anything that matters and this figure to read the agent's.
    """
    midpoint = sent + (received - sent) / 2
    return (server_time - midpoint).total_seconds()
