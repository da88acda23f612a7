"""Vulnerability advisories and findings (decision 0038).

Advisories (``Advisory`` and its ``AffectedPackage`` rows) are **instance-wide**: public
data that names no tenant, imported by the operator and read by matching for every tenant;
they carry no tenant key and so need no scope. What a tenant runs stays tenant-owned: the
**findings** (``Finding``) and when each device was last matched (``DeviceScan``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.models import TenantOwned, TimeStamped
from tandem.vulnerabilities.choices import AdvisorySource, FindingStatus, Severity


class Advisory(TimeStamped):
    """One advisory from one feed: an OSV record (``DSA-5764-1``, ``ALSA-2024:6356``) or a
    Debian tracker CVE. ``origin`` and ``url`` say where it came from (attribution: the
    feeds' licences ask for it); ``modified`` makes a re-import skip what it already has."""

    source = models.CharField(max_length=20, choices=AdvisorySource.choices)
    advisory_id = models.CharField(max_length=100)
    origin = models.CharField(max_length=40, blank=True, default="")
    imported_from = models.CharField(max_length=255, blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")
    summary = models.CharField(max_length=500, blank=True, default="")
    aliases = models.JSONField(default=list, blank=True)
    cve_ids = models.JSONField(default=list, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.UNKNOWN)
    cvss_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    cvss_vector = models.CharField(max_length=200, blank=True, default="")
    modified = models.DateTimeField(null=True, blank=True)
    published = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["advisory_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "advisory_id"], name="vuln_advisory_once")
        ]

    def __str__(self) -> str:
        return self.advisory_id


class AffectedPackage(models.Model):
    """One package an advisory affects in one ecosystem (``Debian:12``, ``AlmaLinux:9``):
    its ECOSYSTEM ranges as lists of ``[kind, version]`` events, and explicit versions.
    Indexed by (ecosystem, package): matching reads a device's packages' rows at once."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="affected")
    ecosystem = models.CharField(max_length=100)
    package = models.CharField(max_length=500)
    ranges = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ecosystem", "package"], name="vuln_affected_lookup")]

    def __str__(self) -> str:
        return f"{self.ecosystem}/{self.package}"


class AdvisoryImport(TimeStamped):
    """One import of an advisory file: what it changed, by whom (the audit entry's target
    in the instance chain, and the "last imported" line of the dashboards)."""

    source = models.CharField(max_length=20, choices=AdvisorySource.choices)
    imported_from = models.CharField(max_length=255)
    scope = models.CharField(max_length=100, blank=True, default="")
    actor_label = models.CharField(max_length=200, blank=True, default="")
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} import of {self.imported_from}"


class Finding(TenantOwned):
    """One advisory affecting one (source) package on one device, and what was decided."""

    # No ``device_scope_field``: a device principal (an agent) reads no findings; like
    # patching's states, they are the people's view of the device (decision 0032).
    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")
    advisory = models.ForeignKey(
        Advisory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Kept with the finding: the advisory row may be withdrawn and removed later.
    advisory_ref = models.CharField(max_length=100)
    source = models.CharField(max_length=20, choices=AdvisorySource.choices)
    cve_ids = models.JSONField(default=list, blank=True)
    #: Every advisory merged into this finding, the naming one first:
    #: ``[{"source": "osv", "advisory": "DSA-5724-1"}, {"source": "debian-tracker", ...}]``
    #: (one finding per CVE and package across sources, decision 0038).
    sources = models.JSONField(default=list, blank=True)
    #: The package the advisory names (the source package on Debian, Ubuntu, Alma, Rocky).
    package = models.CharField(max_length=500)
    #: The installed binary packages built from it, comma-separated.
    binaries = models.CharField(max_length=2000, blank=True, default="")
    installed_version = models.CharField(max_length=200)
    #: Empty while no fix exists (shown as "unfixed").
    fixed_version = models.CharField(max_length=200, blank=True, default="")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.UNKNOWN)
    status = models.CharField(
        max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    fixed_at = models.DateTimeField(null=True, blank=True)
    risk_reason = models.CharField(max_length=1000, blank=True, default="")
    risk_expires_at = models.DateTimeField(null=True, blank=True)
    risk_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    risk_accepted_at = models.DateTimeField(null=True, blank=True)
    #: The patching catalogue's update of the package to a version at or past the fix.
    update = models.ForeignKey(
        "patching.UpdateCatalogueEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-first_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "source", "advisory_ref", "package"], name="vuln_finding_once"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "severity"], name="vuln_finding_board"),
            models.Index(fields=["device", "status"], name="vuln_finding_device"),
        ]

    def __str__(self) -> str:
        return f"{self.advisory_ref} {self.package} on device {self.device_id}"

    @property
    def unfixed(self) -> bool:
        return not self.fixed_version


class DeviceScan(TenantOwned):
    """When a device's inventory was last matched: the periodic task matches a device
    again once its software changed after this."""

    device = models.OneToOneField("assets.Device", on_delete=models.CASCADE, related_name="+")
    matched_at = models.DateTimeField()
    packages = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"scan of device {self.device_id}"
