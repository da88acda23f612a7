"""Isolation expectations for the extras feature (merged into expectations.py)."""

from __future__ import annotations

from typing import Any

PAGES: dict[str, frozenset[str]] = {}
WRITES: dict[tuple[str, str], dict[str, Any]] = {}
OTHER_READS: dict[tuple[str, str], frozenset[str]] = {}
PAGE_TARGETS: dict[str, dict[str, str]] = {}
PUBLIC_PAGES: frozenset[str] = frozenset()
EXTRA_PARAMS: dict[str, str] = {}
