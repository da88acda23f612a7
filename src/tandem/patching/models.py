"""Patch management (decision 0031): the update catalogue, each device's state of each
update, approval policies by level, rings, maintenance windows and the tenant's settings.

All tenant-owned: the catalogue too (an entry is what *this* tenant's agents reported, with
the severity and CVEs that advisory imports gave it), so every read is scoped like the rest
of the tenant's data and no provider sees another client's software.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F

from tandem.core.models import TenantOwned
from tandem.patching import compliance
from tandem.patching.choices import (
    Approval,
    Classification,
    JobOutcome,
    PolicyAction,
    PolicyLevel,
    RebootMode,
    Severity,
    UpdateStatus,
)
from tandem.patching.compliance import Preset


class UpdateCatalogueEntry(TenantOwned):
    """One update: a package (or a KB) at a version, for an OS family, with what is known
    of it. Made from what agents report (security by the update's origin, severity unknown)
    and enriched by advisory imports (severity, CVE ids, release date)."""

    os_family = models.CharField(max_length=16)
    #: The binary package name, or a KB number (``KB5034441``) on Windows.
    package = models.CharField(max_length=500)
    #: The source package (Debian advisories name it), when known.
    source_package = models.CharField(max_length=500, blank=True, default="")
    version = models.CharField(max_length=200)
    classification = models.CharField(
        max_length=16, choices=Classification.choices, default=Classification.BUGFIX
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.UNKNOWN)
    cve_ids = models.JSONField(default=list, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    #: Where the update comes from: the apt origin (``Debian-Security:12/stable-security``).
    source = models.CharField(max_length=500, blank=True, default="")
    #: What last set severity/CVEs: ``agent`` or the advisory import's name.
    advised_by = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["package", "version", "id"]
        verbose_name_plural = "update catalogue entries"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "os_family", "package", "version"], name="patch_entry_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.package} {self.version}"


class DeviceUpdateState(TenantOwned):
    """One update on one device: missing since when, installed when, what was decided and
    by whom, and what the last install attempt said. ``missing_since`` and
    ``installed_at`` drive every timeliness figure (domain §1.3)."""

    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(UpdateCatalogueEntry, on_delete=models.PROTECT, related_name="states")
    #: The agent's item id (``openssl:amd64``): several architectures of one package.
    item_id = models.CharField(max_length=500)
    current_version = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=UpdateStatus.choices, default=UpdateStatus.MISSING
    )
    missing_since = models.DateTimeField()
    installed_at = models.DateTimeField(null=True, blank=True)
    #: When it stopped being offered without being installed (superseded or removed).
    closed_at = models.DateTimeField(null=True, blank=True)
    approval = models.CharField(max_length=16, choices=Approval.choices, default=Approval.AWAITING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_reason = models.CharField(max_length=500, blank=True, default="")
    last_job_outcome = models.CharField(
        max_length=16, choices=JobOutcome.choices, blank=True, default=""
    )
    last_job_message = models.CharField(max_length=2000, blank=True, default="")
    last_job_at = models.DateTimeField(null=True, blank=True)
    #: The job's word that the device must restart before the update takes effect.
    reboot_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["device", "entry__package", "id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "item_id", "entry"], name="patch_state_once")
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "approval"], name="patch_state_tenant"),
            models.Index(fields=["device", "status"], name="patch_state_device"),
        ]

    def __str__(self) -> str:
        return f"{self.entry} on device {self.device_id}"


class PatchRing(TenantOwned):
    """A deployment ring (pilot, broad, ...): its devices take an update ``deferral_days``
    later, and only once the ring before it (lower ``order``) passed the promotion gate:
    at least ``min_successes`` installs and at most ``max_failure_percent`` failures."""

    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    deferral_days = models.PositiveSmallIntegerField(default=0)
    min_successes = models.PositiveIntegerField(default=0)
    max_failure_percent = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="patch_ring_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class MaintenanceWindow(TenantOwned):
    """When installs may run: an RFC 5545 RRULE from a local first start, in a time zone,
    lasting ``duration_minutes`` (``patching.windows`` expands it)."""

    name = models.CharField(max_length=120)
    rrule = models.CharField(max_length=500, help_text="For example FREQ=WEEKLY;BYDAY=SA")
    first_start = models.DateTimeField(help_text="Local wall-clock time of the first window.")
    time_zone = models.CharField(max_length=64)
    duration_minutes = models.PositiveIntegerField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="patch_window_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class PatchPolicy(TenantOwned):
    """The approval, ring, window and reboot settings of one level (the tenant, a site, an
    asset group or a device). Every setting may be left empty to inherit from the level
    above; ``excluded_packages`` add up along the chain (``patching.inheritance``)."""

    level = models.CharField(max_length=16, choices=PolicyLevel.choices)
    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.CASCADE)
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.CASCADE
    )
    device = models.ForeignKey("assets.Device", null=True, blank=True, on_delete=models.CASCADE)
    security_critical = models.CharField(
        max_length=16, choices=PolicyAction.choices, null=True, blank=True
    )
    security_high = models.CharField(
        max_length=16, choices=PolicyAction.choices, null=True, blank=True
    )
    security_medium = models.CharField(
        max_length=16, choices=PolicyAction.choices, null=True, blank=True
    )
    security_low = models.CharField(
        max_length=16, choices=PolicyAction.choices, null=True, blank=True
    )
    security_unknown = models.CharField(
        max_length=16, choices=PolicyAction.choices, null=True, blank=True
    )
    bugfix = models.CharField(max_length=16, choices=PolicyAction.choices, null=True, blank=True)
    feature = models.CharField(max_length=16, choices=PolicyAction.choices, null=True, blank=True)
    auto_approve_after_days = models.PositiveSmallIntegerField(null=True, blank=True)
    ring = models.ForeignKey(PatchRing, null=True, blank=True, on_delete=models.PROTECT)
    maintenance_window = models.ForeignKey(
        MaintenanceWindow, null=True, blank=True, on_delete=models.PROTECT
    )
    reboot_mode = models.CharField(max_length=16, choices=RebootMode.choices, null=True, blank=True)
    reboot_deadline_hours = models.PositiveSmallIntegerField(null=True, blank=True)
    excluded_packages = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["level", "id"]
        verbose_name_plural = "patch policies"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(level="tenant"), name="patch_policy_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "site"],
                condition=models.Q(level="site"),
                name="patch_policy_site",
            ),
            models.UniqueConstraint(
                fields=["tenant", "asset_group"],
                condition=models.Q(level="asset_group"),
                name="patch_policy_group",
            ),
            models.UniqueConstraint(
                fields=["tenant", "device"],
                condition=models.Q(level="device"),
                name="patch_policy_device",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        level="tenant",
                        site__isnull=True,
                        asset_group__isnull=True,
                        device__isnull=True,
                    )
                    | models.Q(
                        level="site",
                        site__isnull=False,
                        asset_group__isnull=True,
                        device__isnull=True,
                    )
                    | models.Q(
                        level="asset_group",
                        site__isnull=True,
                        asset_group__isnull=False,
                        device__isnull=True,
                    )
                    | models.Q(
                        level="device",
                        site__isnull=True,
                        asset_group__isnull=True,
                        device__isnull=False,
                    )
                ),
                name="patch_policy_level_target",
            ),
        ]

    def __str__(self) -> str:
        target = self.site or self.asset_group or self.device
        return f"{self.get_level_display()} policy" + (f": {target}" if target else "")


class PatchingSettings(TenantOwned):
    """The tenant's patching settings: which service area of its responsibility matrix
    decides who approves updates. Without a row (or an area), the area keyed ``patching``
    is used when the tenant has one, else the matrix's rows for no area."""

    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.PROTECT
    )
    # Compliance (decision 0033): the framework whose deadlines the figures judge by.
    compliance_preset = models.CharField(
        max_length=24, choices=Preset.CHOICES, default=Preset.CYBER_ESSENTIALS
    )
    #: The deadline in days of the ``custom`` preset.
    compliance_days = models.PositiveSmallIntegerField(default=14)
    #: Devices not seen for longer are out of scope (stale), not counted as failing.
    staleness_days = models.PositiveSmallIntegerField(default=14)
    #: A pending reboot older than this is reboot debt.
    reboot_debt_days = models.PositiveSmallIntegerField(default=7)
    #: The devices the Essential Eight's internet-facing deadlines apply to.
    internet_facing_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "patching settings"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="patch_settings_once")]

    def __str__(self) -> str:
        return f"patching settings of tenant {self.tenant_id}"


class ComplianceSnapshot(TenantOwned):
    """The tenant's patch compliance as last computed by the worker (decision 0048): the
    figures at ``computed_at`` under every preset, and every active device's standing
    under each (``ComplianceStanding``), so readers do not recompute ~500k states.
    ``changed_at`` is the last change that makes it out of date (the worker refreshes it
    then, and at the latest every ``SNAPSHOT_MAX_AGE``)."""

    computed_at = models.DateTimeField()
    changed_at = models.DateTimeField(null=True, blank=True)
    #: Every preset's figures (decision 0048, amended), by preset: ``{"key": the options
    #: and internet-facing group judged by, "totals": the tenant-wide, per-site and
    #: per-party figures (compliance.totals_json)}``: what a reader who sees every device
    #: the snapshot judged shows, under whichever preset it looks at, without a device row.
    presets = models.JSONField(default=dict)
    #: How many devices it judged (one ``ComplianceStanding`` each per preset).
    devices = models.PositiveIntegerField(default=0)
    #: Seconds the computation took (shown to operators; not a figure of compliance).
    seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="patch_compliance_snapshot_once")
        ]

    def __str__(self) -> str:
        return f"patch compliance of tenant {self.tenant_id} at {self.computed_at:%Y-%m-%d %H:%M}"

    @property
    def stale(self) -> bool:
        return self.changed_at is not None and self.changed_at > self.computed_at


class ComplianceDevice(TenantOwned):
    """One active device in its tenant's compliance snapshot (decision 0048, amended
    2026-12-07): what every preset judges alike (``compliance.RESULT_FIELDS`` but
    ``compliance.RULE_FIELDS``), once: its place and party, scope, reboot facts and the
    durations the medians need. Its ``ComplianceStanding`` rows hold what each preset
    makes of it. A refresh writes the row only when a value changed (``digest``)."""

    #: The device (its id is this row's key, and its standings').
    device = models.OneToOneField(
        "assets.Device", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.TextField()
    site_id = models.BigIntegerField(null=True, blank=True)
    site_name = models.TextField(blank=True)
    asset_group_id = models.BigIntegerField(null=True, blank=True)
    party_id = models.BigIntegerField(null=True, blank=True)
    party_name = models.TextField(blank=True)
    in_scope = models.BooleanField()
    last_seen_at = models.DateTimeField(null=True)
    reboot_pending = models.BooleanField(null=True)
    reboot_debt_since = models.DateTimeField(null=True)
    in_reboot_debt = models.BooleanField()
    reported_recently = models.BooleanField()
    #: Durations (days) by severity; the medians need the values themselves.
    to_patch = models.JSONField(default=dict)
    to_patch_from_detection = models.JSONField(default=dict)
    #: How many durations the two hold (readers fetch only rows that have some).
    patched = models.PositiveIntegerField(default=0)
    #: A hash of the values above: a refresh rewrites the row only when it differs.
    digest = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name} in its tenant's compliance snapshot"


class ComplianceStanding(TenantOwned):
    """One active device's standing under one preset in its tenant's compliance snapshot
    (decision 0048; one row per preset since its first amendment, and only what the
    preset decides since 2026-12-07: the rest is the device's ``ComplianceDevice``, once).
    A reader who sees only part of the tenant (a provider's engagement scope) sums these
    rows in SQL; the CSV and the failing-devices list read them in :attr:`ORDER` (the
    order the live figures list devices in). A refresh writes only the rows that changed,
    inserts the new devices' and deletes the retired ones'."""

    #: The device, through its snapshot row (the column holds the device's id).
    device = models.ForeignKey(ComplianceDevice, on_delete=models.CASCADE, related_name="+")
    #: The preset it was judged by (``compliance.Preset``).
    preset = models.CharField(max_length=32)
    #: Not current first, then current, then out of scope (NULL, sorted last).
    current = models.BooleanField(null=True)
    #: The device's ``name.lower()`` as UTF-8 (bytes compare as Python compares the
    #: strings, on every database): with ``current`` and the id, the list's order is this
    #: row's own, read from an index (:attr:`ORDER`).
    sort_name = models.BinaryField()
    #: Overdue updates by severity (``compliance.SEVERITIES``), and their sum (what the
    #: figures add up, in SQL).
    overdue_critical = models.PositiveIntegerField(default=0)
    overdue_high = models.PositiveIntegerField(default=0)
    overdue_medium = models.PositiveIntegerField(default=0)
    overdue_low = models.PositiveIntegerField(default=0)
    overdue_unknown = models.PositiveIntegerField(default=0)
    overdue_total = models.PositiveIntegerField(default=0)
    oldest_overdue_since = models.DateTimeField(null=True)
    sla_met = models.PositiveIntegerField(default=0)
    sla_missed = models.PositiveIntegerField(default=0)
    #: A hash of the values above: a refresh rewrites the row only when it differs.
    digest = models.BigIntegerField()

    #: ``compliance.device_order`` in SQL: not current first, then current, then out of
    #: scope (``current`` is NULL exactly when the device is out of scope), by name, by id.
    ORDER = (F("current").asc(nulls_last=True), "sort_name", "device_id")
    #: Where each of ``compliance.STORED_FIELDS`` is read from, through a standing: its
    #: own columns, or its device's.
    RESULT_COLUMNS = tuple(
        name
        if name == "device_id" or name in compliance.RULE_FIELDS or name.startswith("overdue_")
        else f"device__{name}"
        for name in compliance.STORED_FIELDS
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "preset", "device"], name="patch_compliance_standing_once"
            )
        ]
        indexes = [
            # The CSV's rows and the page's "devices not current" in order (:attr:`ORDER`),
            # without a sort.
            # (PostgreSQL sorts NULL last in an ascending index, as ORDER asks.)
            models.Index(
                fields=["tenant", "preset", "current", "sort_name", "device"],
                name="patch_standing_order",
            ),
        ]

    def __str__(self) -> str:
        return f"compliance standing of device {self.device_id} under {self.preset}"
