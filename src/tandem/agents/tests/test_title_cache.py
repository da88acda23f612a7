"""The per-process title id cache's own rules: generations, versions of one item and its
bound (decision 0049)."""

from __future__ import annotations

from tandem.agents.title_cache import TitleCache, resolve

BASH = ("bash:amd64", ("bash", "5.2", "amd64", "bash", "5.2"))
BASH_NEWER = ("bash:amd64", ("bash", "5.3", "amd64", "bash", "5.3"))
ZSH = ("zsh:amd64", ("zsh", "5.9", "amd64", "zsh", "5.9"))
FISH = ("fish:amd64", ("fish", "3.7", "amd64", "fish", "3.7"))


def _answers(cache: TitleCache, tenant: int, generation: int, *packages) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids, missing = resolve(cache.get(tenant, generation), dict(packages))
    assert ids.keys() | missing.keys() == {item for item, _ in packages}
    return ids


def test_ids_are_answered_only_at_the_generation_they_were_learned_at() -> None:
    cache = TitleCache()
    cache.fill(1, 7, {BASH: 10})
    assert _answers(cache, 1, 7, BASH) == {"bash:amd64": 10}
    assert _answers(cache, 1, 8, BASH) == {}  # a purge since: nothing is answered
    assert _answers(cache, 2, 7, BASH) == {}  # another tenant's
    cache.fill(1, 8, {ZSH: 11})
    assert _answers(cache, 1, 8, BASH, ZSH) == {"zsh:amd64": 11}  # the older went whole
    assert _answers(cache, 1, 7, BASH) == {}
    cache.fill(1, 7, {BASH: 10})  # a check-in that committed before the purge, late
    assert _answers(cache, 1, 8, BASH, ZSH) == {"zsh:amd64": 11}
    assert len(cache) == 1


def test_a_package_is_answered_only_for_the_very_values_it_was_learned_with() -> None:
    cache = TitleCache()
    cache.fill(1, 0, {BASH: 10})
    assert _answers(cache, 1, 0, BASH_NEWER) == {}  # same item id, another version
    renamed = ("bash:amd64", ("bash", "5.2", "amd64", "bash-src", "5.2"))
    assert _answers(cache, 1, 0, renamed) == {}  # any of the five values differs
    # Both versions of the item are held at once (a fleet half way through an upgrade).
    cache.fill(1, 0, {BASH_NEWER: 12})
    assert _answers(cache, 1, 0, BASH) == {"bash:amd64": 10}
    assert _answers(cache, 1, 0, BASH_NEWER) == {"bash:amd64": 12}
    cache.fill(1, 0, {renamed: 13, BASH: 10})
    assert _answers(cache, 1, 0, renamed) == {"bash:amd64": 13}
    assert len(cache) == 3


def test_the_least_recently_used_tenants_go_first_and_the_bound_holds() -> None:
    cache = TitleCache(max_entries=2)
    cache.fill(1, 0, {BASH: 10})
    cache.fill(2, 0, {BASH: 20})
    assert _answers(cache, 1, 0, BASH) == {"bash:amd64": 10}  # tenant 1 used last
    cache.fill(3, 0, {BASH: 30})
    assert _answers(cache, 2, 0, BASH) == {}
    assert _answers(cache, 1, 0, BASH) == {"bash:amd64": 10}
    assert _answers(cache, 3, 0, BASH) == {"bash:amd64": 30}
    cache.fill(4, 0, {BASH: 40, ZSH: 41, FISH: 42})  # more than fits: what fits
    assert len(cache) == 2
    assert _answers(cache, 4, 0, BASH, ZSH, FISH) == {"bash:amd64": 40, "zsh:amd64": 41}
    # A second version counts as another package against the bound.
    cache.fill(4, 0, {BASH_NEWER: 43})
    assert len(cache) == 2
    assert _answers(cache, 4, 0, BASH_NEWER) == {}
