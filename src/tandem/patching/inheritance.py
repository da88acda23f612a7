"""Which patch policy applies to a device, and where each of its settings came from.

A pure core (no Django): policies are set at four levels, tenant → site → asset group →
device, each setting optional. The nearest level that sets a setting wins (the device over
its group, the group over its site, the site over the tenant, the tenant over the built-in
defaults), as in Tactical RMM and NinjaOne. Excluded packages are the one exception: they
*add up* along the chain, so a device's own exclusion never lifts one the tenant made (a
package excluded for the whole tenant stays excluded; to install it somewhere, the tenant's
exclusion must go).

The answer names the source of every value, which the policy pages show ("Reboot: always,
from asset group HQ servers").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Action names (``choices.PolicyAction``), repeated here so the core imports no Django.
AUTO, MANUAL, EXCLUDE = "auto", "manual", "exclude"
#: The severity settings of security updates, by severity name.
SEVERITY_SETTINGS = {
    "critical": "security_critical",
    "high": "security_high",
    "medium": "security_medium",
    "low": "security_low",
    "unknown": "security_unknown",
}
#: The settings of non-security updates, by classification.
CLASSIFICATION_SETTINGS = {"bugfix": "bugfix", "feature": "feature"}
#: Every overridable setting, in the order pages show them.
SETTINGS: tuple[str, ...] = (
    *SEVERITY_SETTINGS.values(),
    *CLASSIFICATION_SETTINGS.values(),
    "auto_approve_after_days",
    "ring_id",
    "maintenance_window_id",
    "reboot_mode",
    "reboot_deadline_hours",
)
#: What applies where no level says anything: nothing installs without a person's approval
#: (a new tenant's devices are never patched by surprise), no ring, no window (so nothing
#: is planned until a window is set), reboot only when an update needs it, within a day.
DEFAULTS: Mapping[str, Any] = {
    **dict.fromkeys(SEVERITY_SETTINGS.values(), MANUAL),
    **dict.fromkeys(CLASSIFICATION_SETTINGS.values(), MANUAL),
    "auto_approve_after_days": 0,
    "ring_id": None,
    "maintenance_window_id": None,
    "reboot_mode": "if_required",
    "reboot_deadline_hours": 24,
}
DEFAULT_SOURCE = "default"
#: Levels from the widest to the nearest.
LEVEL_ORDER = ("tenant", "site", "asset_group", "device")


@dataclass(frozen=True)
class PolicyLayer:
    """One level's policy as plain data: ``settings`` maps a setting to its value, or to
    None (or leaves it out) to inherit. ``label`` names the level for people ("site HQ")."""

    level: str
    label: str
    settings: Mapping[str, Any]
    excluded_packages: Sequence[str] = ()


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies: every setting's value and the label of the level that set
    it (``"default"`` for the built-in defaults); excluded packages with their sources."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    excluded_packages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, setting: str) -> Any:
        return self.values[setting]

    def action_for(self, *, classification: str, severity: str, package: str) -> str:
        """``auto``, ``manual`` or ``exclude`` for one update: an excluded package first,
        then the severity setting of a security update or the classification's setting."""
        if package in self.excluded_packages:
            return EXCLUDE
        if classification == "security":
            setting = SEVERITY_SETTINGS.get(severity, SEVERITY_SETTINGS["unknown"])
        else:
            setting = CLASSIFICATION_SETTINGS.get(classification, "feature")
        return str(self.values[setting])


def resolve(layers: Sequence[PolicyLayer]) -> EffectivePolicy:
    """The effective policy of a chain of layers (any subset of the levels, in any order:
    they are sorted widest first). Two layers of one level are a caller's error."""
    ordered = sorted(layers, key=lambda layer: LEVEL_ORDER.index(layer.level))
    levels = [layer.level for layer in ordered]
    if len(set(levels)) != len(levels):
        raise ValueError(f"one policy per level, got {levels}")
    values = dict(DEFAULTS)
    sources = dict.fromkeys(SETTINGS, DEFAULT_SOURCE)
    excluded: dict[str, list[str]] = {}
    for layer in ordered:
        for setting in SETTINGS:
            value = layer.settings.get(setting)
            if value is not None:
                values[setting] = value
                sources[setting] = layer.label
        for package in layer.excluded_packages:
            sources_of = excluded.setdefault(package, [])
            if layer.label not in sources_of:
                sources_of.append(layer.label)
    return EffectivePolicy(
        values=values,
        sources=sources,
        excluded_packages={name: tuple(labels) for name, labels in sorted(excluded.items())},
    )
