"""Each web process's memory of the title ids it has resolved (decision 0049).

A first inventory names ~500–1,700 packages, and almost all of them are titles its tenant
already has: the lookup by key cost ~3 ms of database CPU and ~1 ms of web CPU at 1,700
packages, and computing the keys (BLAKE2b over each package) ~2.7 ms more. This cache
answers a package's title id from the package itself (its item id and five values, the
very values the key digests), so a package seen before costs a dictionary lookup.

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

#: A package as a title: its item id and its five values (``normalise.SoftwareRow``).
Title = tuple[str, ...]

#: Packages kept per process, all tenants together (~0.5 KB each: ~50 MB at most).
MAX_ENTRIES = 100_000


class TitleCache:
    """Title ids by package, per (tenant, generation), least recently used tenants out
    first."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._tenants: OrderedDict[int, tuple[int, dict[Title, int]]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, tenant_id: int, generation: int) -> Mapping[Title, int]:
        """The ids known for ``tenant_id`` at ``generation`` (empty when none are)."""
        with self._lock:
            held = self._tenants.get(tenant_id)
            if held is None or held[0] != generation:
                return {}
            self._tenants.move_to_end(tenant_id)
            return held[1]

    def fill(self, tenant_id: int, generation: int, ids: Mapping[Title, int]) -> None:
        """Remember ``ids`` (resolved by a committed check-in at ``generation``)."""
        with self._lock:
            if tenant_id in self._tenants and self._tenants[tenant_id][0] > generation:
                return  # a check-in that committed before a purge: its generation is gone
            held = self._tenants.pop(tenant_id, None)
            if held is not None:
                self._size -= len(held[1])
            if held is None or held[0] != generation:
                # A tenant's older generation may name purged titles: it goes whole.
                held = (generation, {})
            known = held[1]
            # Make room: the least recently used tenants go first, then what does not fit.
            while self._tenants and self._size + len(known) + len(ids) > self.max_entries:
                _, (_, dropped) = self._tenants.popitem(last=False)
                self._size -= len(dropped)
            room = self.max_entries - self._size - len(known)
            for title, title_id in ids.items():
                if room <= 0:
                    break
                if title not in known:
                    room -= 1
                known[title] = title_id
            self._tenants[tenant_id] = held
            self._size += len(known)

    def clear(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._size = 0

    def __len__(self) -> int:
        return self._size


#: This process's cache (one per web or worker process).
CACHE = TitleCache()
