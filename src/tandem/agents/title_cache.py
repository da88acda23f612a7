"""Each web process's memory of the title ids it has resolved (decision 0049).

A first inventory names ~500–1,700 packages, and almost all of them are titles its tenant
already has: the lookup by key cost ~3 ms of database CPU and ~1 ms of web CPU at 1,700
packages, and computing the keys (BLAKE2b over each package) ~2.7 ms more. This cache
answers a package's title id from the package itself (its item id and five values, the
very values the key digests), so a package seen before costs a dictionary lookup by its
item id and a comparison of its five values (hashing all six strings of every package
again cost twice as much: ~0.6 ms of a 1,700-package first inventory; decision 0049,
fourth round).

Correct only with the rules ``titles.title_ids`` keeps, because a title can be purged
(decision 0049) and ``InstalledSoftware`` has no foreign key to catch a stale id:

- entries are kept per (tenant, generation); the purge changes the tenant's generation in
  the transaction that deletes, and a check-in reads the generation under the tenant's
  title lock (after it is granted), so a generation read is never older than a purge the
  check-in could follow;
- entries are added only after the check-in that resolved them committed (a title inserted
  by a transaction that rolled back never enters);
- a tenant's entries under an older generation are dropped when a newer one is filled.

Bounded: at most :data:`MAX_ENTRIES` packages across all tenants (~0.5 KB each), the
tenants used least recently dropped first. Safe to share between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from tandem.agents.normalise import SoftwareRow

#: A package's five values: with its item id, what its title is.
Row = SoftwareRow
#: The titles known for one item id: ``(row, id)`` while one version was seen (compared,
#: not hashed), ``{row: id}`` once several were (a fleet half way through an upgrade).
Known = tuple[Row, int] | dict[Row, int]

#: Packages kept per process, all tenants together (~0.5 KB each: ~50 MB at most).
MAX_ENTRIES = 100_000


def resolve(
    known: Mapping[str, Known], rows: Mapping[str, Row]
) -> tuple[dict[str, int], dict[str, Row]]:
    """Split ``rows`` (item id → row) into the title ids ``known`` answers and the rows it
    does not. One loop for the whole inventory: it runs for every package of every first
    inventory."""
    ids: dict[str, int] = {}
    missing: dict[str, Row] = {}
    for item_id, row in rows.items():
        entry = known.get(item_id)
        if entry is not None:
            if entry.__class__ is tuple:
                if entry[0] == row:
                    ids[item_id] = entry[1]  # type: ignore[assignment]
                    continue
            else:
                title_id = entry.get(row)  # type: ignore[union-attr]
                if title_id is not None:
                    ids[item_id] = title_id
                    continue
        missing[item_id] = row
    return ids, missing


def _add(known: dict[str, Known], item_id: str, row: Row, title_id: int) -> bool:
    """Remember one package's title id; True when it is a package not held before."""
    entry = known.get(item_id)
    if entry is None:
        known[item_id] = (row, title_id)
        return True
    if isinstance(entry, tuple):
        if entry[0] == row:
            return False
        # Replaced whole, never changed in place: a reader holding the tuple is unharmed.
        known[item_id] = {entry[0]: entry[1], row: title_id}
        return True
    new = row not in entry
    entry[row] = title_id
    return new


class TitleCache:
    """Title ids by package, per (tenant, generation), least recently used tenants out
    first."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._tenants: OrderedDict[int, tuple[int, dict[str, Known], int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, tenant_id: int, generation: int) -> Mapping[str, Known]:
        """The titles known for ``tenant_id`` at ``generation`` (empty when none are), by
        item id: read with :func:`resolve`."""
        with self._lock:
            held = self._tenants.get(tenant_id)
            if held is None or held[0] != generation:
                return {}
            self._tenants.move_to_end(tenant_id)
            return held[1]

    def fill(self, tenant_id: int, generation: int, ids: Mapping[tuple[str, Row], int]) -> None:
        """Remember ``ids`` ((item id, row) → title id), resolved by a committed check-in at
        ``generation``."""
        with self._lock:
            if tenant_id in self._tenants and self._tenants[tenant_id][0] > generation:
                return  # a check-in that committed before a purge: its generation is gone
            held = self._tenants.pop(tenant_id, None)
            if held is not None:
                self._size -= held[2]
            if held is None or held[0] != generation:
                # A tenant's older generation may name purged titles: it goes whole.
                held = (generation, {}, 0)
            _, known, count = held
            # Make room: the least recently used tenants go first, then what does not fit.
            while self._tenants and self._size + count + len(ids) > self.max_entries:
                _, (_, _, dropped) = self._tenants.popitem(last=False)
                self._size -= dropped
            room = self.max_entries - self._size - count
            for (item_id, row), title_id in ids.items():
                if room <= 0:
                    break
                if _add(known, item_id, row, title_id):
                    room -= 1
                    count += 1
            self._tenants[tenant_id] = (generation, known, count)
            self._size += count

    def clear(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._size = 0

    def __len__(self) -> int:
        """How many packages are held, all tenants together."""
        return self._size


#: This process's cache (one per web or worker process).
CACHE = TitleCache()
