"""The per-process title id cache's own rules: generations and its bound (decision 0049)."""

from __future__ import annotations

from tandem.agents.title_cache import TitleCache

BASH = ("bash:amd64", "bash", "5.2", "amd64", "bash", "5.2")
ZSH = ("zsh:amd64", "zsh", "5.9", "amd64", "zsh", "5.9")


def test_ids_are_answered_only_at_the_generation_they_were_learned_at() -> None:
    cache = TitleCache()
    cache.fill(1, 7, {BASH: 10})
    assert cache.get(1, 7) == {BASH: 10}
    assert cache.get(1, 8) == {}  # a purge since: nothing is answered
    assert cache.get(2, 7) == {}  # another tenant's
    cache.fill(1, 8, {ZSH: 11})
    assert cache.get(1, 8) == {ZSH: 11}  # the older generation went whole
    assert cache.get(1, 7) == {}
    cache.fill(1, 7, {BASH: 10})  # a check-in that committed before the purge, late
    assert cache.get(1, 8) == {ZSH: 11}
    assert len(cache) == 1


def test_the_least_recently_used_tenants_go_first_and_the_bound_holds() -> None:
    cache = TitleCache(max_entries=2)
    cache.fill(1, 0, {BASH: 10})
    cache.fill(2, 0, {BASH: 20})
    assert cache.get(1, 0) == {BASH: 10}  # tenant 1 used last
    cache.fill(3, 0, {BASH: 30})
    assert cache.get(2, 0) == {}
    assert cache.get(1, 0) == {BASH: 10}
    assert cache.get(3, 0) == {BASH: 30}
    cache.fill(4, 0, {BASH: 40, ZSH: 41, ("x",): 42})  # more than fits: what fits
    assert len(cache) == 2
    assert cache.get(4, 0) == {BASH: 40, ZSH: 41}
