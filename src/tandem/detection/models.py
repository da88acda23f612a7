"""Rule packs and each tenant's choice of rules (decision 0044).

- :class:`InstalledPack` and :class:`PackRule` are instance data: the packs the detection
  worker runs (the starter pack, the community set of ``TANDEM_DETECTION_RULES``), one row
  per version (content hash) seen, with every rule it holds and every rule it could not
  load and why. Written by the worker when it loads its rules (``sync_installed_packs``).
- :class:`PackSetting`, :class:`DisabledRule` and :class:`CustomRule` are the tenant's:
  a pack turned off, one built-in rule turned off, a rule the tenant uploaded. Each carries
  the tenant's security monitoring area when it was made (providers engaged for that area
  see it, as with alerts).
- :class:`PlaceholderList` is the tenant's too: a named list of values for the Sigma
  ``|expand`` placeholder ``%name%`` (its domain controllers, its admin workstations), with
  which the rules refused only for a missing value run for that tenant (decision 0051).
- :class:`RuleSettings` holds the tenant's ``rules_version``, raised by every change above
  in the same transaction: the worker reads it once per batch and rebuilds the tenant's
  rules only when it moved.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.models import TenantOwned, TimeStamped

MAX_RULE_ID = 200
#: The longest custom rule source accepted (one rule's YAML, bytes).
MAX_RULE_SOURCE = 64_000


class InstalledPack(TimeStamped):
    """One version of a rule pack the detection worker loaded: its name, version (the
    ``VERSION`` file, else the content hash's first 12 digits), content hash, how many rules
    loaded and which could not, with the reason. ``is_current``: the version loaded last."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64)
    rule_count = models.PositiveIntegerField(default=0)
    #: [{"source", "reason", "rule_id", "title"}] of the rules that could not load.
    refused = models.JSONField(default=list)
    is_current = models.BooleanField(default=True)
    last_loaded_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "-last_loaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "content_hash"], name="installedpack_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class PackRule(models.Model):
    """One rule of an installed pack version (single-event or correlation)."""

    pack = models.ForeignKey(InstalledPack, on_delete=models.CASCADE, related_name="rules")
    rule_id = models.CharField(max_length=MAX_RULE_ID)
    title = models.CharField(max_length=300)
    level = models.CharField(max_length=20, blank=True, default="")
    logsource = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=500, blank=True, default="")
    is_correlation = models.BooleanField(default=False)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["pack", "rule_id"], name="packrule_pack_rule")]

    def __str__(self) -> str:
        return self.title


class _TenantRuleRow(TenantOwned):
    """What the tenant-owned rows share: who made them, and the security monitoring area
    (providers engaged for it read the row)."""

    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_label = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        abstract = True


class RuleSettings(TenantOwned):
    """The tenant's rules version: raised in the transaction of every change to its packs,
    disabled rules or custom rules, so the detection worker knows when to rebuild."""

    rules_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="rulesettings_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"rules version {self.rules_version} of tenant {self.tenant_id}"


class PackSetting(_TenantRuleRow):
    """A pack the tenant turned off (``enabled`` false), or back on, with the reason. No
    row: the pack is on."""

    pack_name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pack_name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "pack_name"], name="packsetting_one_per_pack")
        ]

    def __str__(self) -> str:
        return f"{self.pack_name} {'on' if self.enabled else 'off'}"


class DisabledRule(_TenantRuleRow):
    """A built-in rule the tenant turned off, with the reason; re-enabling deletes the row
    (the audit log keeps the history). Keyed by rule id, so it holds across pack versions."""

    rule_id = models.CharField(max_length=MAX_RULE_ID)
    #: The pack and title the rule had when it was turned off (for people; not a key).
    pack_name = models.CharField(max_length=100, blank=True, default="")
    title = models.CharField(max_length=300, blank=True, default="")
    reason = models.TextField()

    class Meta:
        ordering = ["title", "rule_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rule_id"], name="disabledrule_one_per_rule")
        ]

    def __str__(self) -> str:
        return f"{self.title or self.rule_id} (off)"


class CustomRule(_TenantRuleRow):
    """A Sigma rule the tenant uploaded: its YAML as given (one document), checked by the
    same loader and compiler as the packs. Replacing it raises ``version``; the audit log
    keeps each version's source."""

    rule_id = models.CharField(max_length=MAX_RULE_ID)
    title = models.CharField(max_length=300)
    level = models.CharField(max_length=20, blank=True, default="")
    logsource = models.CharField(max_length=200, blank=True, default="")
    is_correlation = models.BooleanField(default=False)
    source = models.TextField()
    file_name = models.CharField(max_length=255, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rule_id"], name="customrule_one_per_id")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def name(self) -> str:
        """What people call it (the isolation matrix's leak check reads ``name``)."""
        return self.title


class PlaceholderList(_TenantRuleRow):
    """The tenant's values for one Sigma placeholder (``%name%`` in a ``|expand`` value):
    a rule of an installed pack refused only because the placeholders it expands had no
    value runs for this tenant once each has a list here, and custom rules may expand them.
    Values are Sigma strings (``*`` and ``?`` are wildcards, ``\\`` escapes them). The
    name is fixed once made (rules name it); the audit log keeps every change of values."""

    name = models.CharField(max_length=100)
    values = models.JSONField(default=list)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="placeholderlist_one_per_name")
        ]

    def __str__(self) -> str:
        return f"%{self.name}%"
