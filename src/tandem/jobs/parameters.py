"""What each kind of job takes, checked before anything is written. Plain functions, no
Django: the services turn a :class:`ParameterError` into a 422 naming the field.

- ``run_script``: ``script`` (text, at most 64 KiB), ``interpreter`` (``sh`` or ``bash``),
  ``timeout_seconds`` (1 to 86,400; default 600).
- ``install_updates``: ``packages``: a list of package names (Debian's rules: lower case,
  digits, ``+ - .``, at least two characters), or ``"all"``, or ``"security"``.
- ``reboot``: ``delay_minutes`` (0 to 1,440; default 1): the agent reports before the
  machine goes down.
"""

from __future__ import annotations

import re
from typing import Any

from tandem.jobs.machine import Kind

MAX_SCRIPT_BYTES = 64 * 1024
INTERPRETERS = ("sh", "bash")
MAX_TIMEOUT_SECONDS = 86_400
DEFAULT_TIMEOUT_SECONDS = 600
MAX_PACKAGES = 500
UPDATE_SETS = ("all", "security")
MAX_REBOOT_DELAY_MINUTES = 1_440
#: A Debian package name (Debian Policy 5.6.1); RPM names are looser but these fit both.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.\-]{1,127}$")


class ParameterError(ValueError):
    """A parameter is missing, unknown or out of range: ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _int(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(name, f"{name} must be a whole number.")
    if not low <= value <= high:
        raise ParameterError(name, f"{name} must be between {low} and {high}.")
    return value


def _no_others(params: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParameterError(unknown[0], f"Unknown parameter for this kind: {unknown[0]}.")


def clean(kind: str, params: Any) -> dict[str, Any]:
    """The parameters of a job of ``kind``, checked and with defaults filled in."""
    if kind not in set(Kind):
        raise ParameterError("kind", f"Unknown kind of job: {kind!r}.")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParameterError("parameters", "parameters must be an object.")
    if kind == Kind.RUN_SCRIPT:
        _no_others(params, {"script", "interpreter", "timeout_seconds"})
        script = params.get("script")
        if not isinstance(script, str) or not script.strip():
            raise ParameterError("script", "A script job needs the script's text.")
        if "\x00" in script:
            raise ParameterError("script", "The script may not contain NUL characters.")
        if len(script.encode()) > MAX_SCRIPT_BYTES:
            raise ParameterError("script", f"The script is longer than {MAX_SCRIPT_BYTES} bytes.")
        interpreter = params.get("interpreter", "sh")
        if interpreter not in INTERPRETERS:
            raise ParameterError("interpreter", "The interpreter must be sh or bash.")
        timeout = _int(params, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS, 1, MAX_TIMEOUT_SECONDS)
        return {"script": script, "interpreter": interpreter, "timeout_seconds": timeout}
    if kind == Kind.INSTALL_UPDATES:
        _no_others(params, {"packages"})
        packages = params.get("packages")
        if packages in UPDATE_SETS:
            return {"packages": packages}
        if not isinstance(packages, list) or not packages:
            raise ParameterError(
                "packages", 'packages must be a list of package names, "all" or "security".'
            )
        if len(packages) > MAX_PACKAGES:
            raise ParameterError("packages", f"At most {MAX_PACKAGES} packages per job.")
        for name in packages:
            if not isinstance(name, str) or not PACKAGE_NAME.match(name):
                raise ParameterError("packages", f"Not a package name: {name!r}.")
        return {"packages": sorted(set(packages))}
    _no_others(params, {"delay_minutes"})
    return {"delay_minutes": _int(params, "delay_minutes", 1, 0, MAX_REBOOT_DELAY_MINUTES)}
