"""Debian version ordering (``dpkg --compare-versions``, Debian Policy §5.6.12): a pure
function, so a change can be told an upgrade or a downgrade without the ORM or dpkg."""

from __future__ import annotations

import re

_EPOCH = re.compile(r"^(\d+):(.*)$")


def _order(char: str) -> int:
    """dpkg's weight of one character of a non-digit part: ``~`` before the end, letters
    before everything else."""
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(left: str, right: str) -> int:
    i = j = 0
    while i < len(left) or j < len(right):
        # The non-digit prefixes, character by character (an exhausted side counts 0).
        while (i < len(left) and not left[i].isdigit()) or (
            j < len(right) and not right[j].isdigit()
        ):
            a = _order(left[i]) if i < len(left) and not left[i].isdigit() else 0
            b = _order(right[j]) if j < len(right) and not right[j].isdigit() else 0
            if a != b:
                return -1 if a < b else 1
            i += 1
            j += 1
        start_i, start_j = i, j
        while i < len(left) and left[i].isdigit():
            i += 1
        while j < len(right) and right[j].isdigit():
            j += 1
        a_num = int(left[start_i:i] or 0)
        b_num = int(right[start_j:j] or 0)
        if a_num != b_num:
            return -1 if a_num < b_num else 1
    return 0


def _split(version: str) -> tuple[int, str, str]:
    epoch = 0
    match = _EPOCH.match(version)
    if match:
        epoch, version = int(match.group(1)), match.group(2)
    upstream, _, revision = version.rpartition("-")
    if not upstream:
        upstream, revision = revision, ""
    return epoch, upstream, revision


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1 as ``left`` is older than, the same as or newer than ``right``."""
    left_epoch, left_upstream, left_revision = _split(left)
    right_epoch, right_upstream, right_revision = _split(right)
    if left_epoch != right_epoch:
        return -1 if left_epoch < right_epoch else 1
    return _compare_part(left_upstream, right_upstream) or _compare_part(
        left_revision, right_revision
    )
