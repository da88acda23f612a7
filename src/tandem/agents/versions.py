"""Package version ordering, pure functions, so a change can be told an upgrade or a
downgrade (and an installed version vulnerable or not) without the ORM, dpkg or rpm:

- :func:`compare_versions`: Debian (``dpkg --compare-versions``, Debian Policy §5.6.12),
  also Ubuntu's;
- :func:`compare_rpm_versions`: RPM (``rpmvercmp`` of rpm ≥ 4.15 with ``~`` and ``^``,
  over ``[epoch:]version[-release]``), for RHEL, Alma, Rocky and Fedora.
"""

from __future__ import annotations

import re

_EPOCH = re.compile(r"^([0-9]+):(.*)$")


def _digit(char: str) -> bool:
    """An ASCII digit, as dpkg's and rpm's ``isdigit``: ``str.isdigit`` also takes ``²``,
    which ``int`` refuses (a version holding one made a check-in fail)."""
    return "0" <= char <= "9"


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
        while (i < len(left) and not _digit(left[i])) or (j < len(right) and not _digit(right[j])):
            a = _order(left[i]) if i < len(left) and not _digit(left[i]) else 0
            b = _order(right[j]) if j < len(right) and not _digit(right[j]) else 0
            if a != b:
                return -1 if a < b else 1
            i += 1
            j += 1
        start_i, start_j = i, j
        while i < len(left) and _digit(left[i]):
            i += 1
        while j < len(right) and _digit(right[j]):
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


# --- RPM -------------------------------------------------------------------------------------


def _rpm_alnum(char: str) -> bool:
    # rpm's risalnum is ASCII only: any other character separates segments.
    return char.isascii() and char.isalnum()


def _rpm_alpha(char: str) -> bool:
    return char.isascii() and char.isalpha()


def rpmvercmp(left: str, right: str) -> int:
    """rpm's ``rpmvercmp`` of two version (or release) strings: -1, 0 or 1.

    Segments of digits compare as numbers (leading zeros dropped) and are newer than
    segments of letters; ``~`` sorts before anything, even the end (``1.0~rc1 < 1.0``);
    ``^`` sorts after the end but before any further segment (``1.0 < 1.0^git1 < 1.0.1``);
    other characters only separate segments. With every segment equal, the side with
    something left over is newer.
    """
    if left == right:
        return 0
    a, b = left, right
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and not _rpm_alnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < len(b) and not _rpm_alnum(b[j]) and b[j] not in "~^":
            j += 1
        a_end, b_end = i >= len(a), j >= len(b)
        if (not a_end and a[i] == "~") or (not b_end and b[j] == "~"):
            if a_end or a[i] != "~":
                return 1
            if b_end or b[j] != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if (not a_end and a[i] == "^") or (not b_end and b[j] == "^"):
            if a_end:
                return -1
            if b_end:
                return 1
            if a[i] != "^":
                return 1
            if b[j] != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if a_end or b_end:
            break
        kind = _digit if _digit(a[i]) else _rpm_alpha
        start_i, start_j = i, j
        while i < len(a) and kind(a[i]):
            i += 1
        while j < len(b) and kind(b[j]):
            j += 1
        one, two = a[start_i:i], b[start_j:j]
        if not two:  # a number against letters: the number is newer
            return 1 if kind is _digit else -1
        if kind is _digit:
            one, two = one.lstrip("0"), two.lstrip("0")
            if len(one) != len(two):
                return -1 if len(one) < len(two) else 1
        if one != two:
            return -1 if one < two else 1
    a_end, b_end = i >= len(a), j >= len(b)
    if a_end and b_end:
        return 0
    return -1 if a_end else 1


def _rpm_split(evr: str) -> tuple[int, str, str]:
    epoch = 0
    match = _EPOCH.match(evr)
    if match:
        epoch, evr = int(match.group(1)), match.group(2)
    version, _, release = evr.rpartition(
        "-"
    )  # a version holds no "-": the release follows the last
    if not version:
        version, release = release, ""
    return epoch, version, release


def compare_rpm_versions(left: str, right: str) -> int:
    """-1, 0 or 1 as the RPM ``[epoch:]version[-release]`` ``left`` is older than, the same
    as or newer than ``right``. A missing epoch is 0 (as rpm's ``%{EPOCHNUM}``); a missing
    release is older than any release, so the order stays total (rpm itself skips the
    release when either side lacks one, which is not transitive)."""
    left_epoch, left_version, left_release = _rpm_split(left)
    right_epoch, right_version, right_release = _rpm_split(right)
    if left_epoch != right_epoch:
        return -1 if left_epoch < right_epoch else 1
    return rpmvercmp(left_version, right_version) or rpmvercmp(left_release, right_release)
