"""The patching app's vocabularies (decision 0031)."""

from __future__ import annotations

from django.db import models


class Classification(models.TextChoices):
    SECURITY = "security", "Security"
    BUGFIX = "bugfix", "Bug fix"
    FEATURE = "feature", "Feature"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    UNKNOWN = "unknown", "Unknown"


class UpdateStatus(models.TextChoices):
    """Where one update stands on one device."""

    MISSING = "missing", "Missing"
    INSTALLED = "installed", "Installed"
    #: No longer offered and the software is not at (or past) its version: a newer
    #: candidate replaced it, or the package was removed.
    SUPERSEDED = "superseded", "Superseded"


class Approval(models.TextChoices):
    """What the policy or a person decided for one update on one device."""

    AWAITING = "awaiting", "Awaiting approval"
    AUTO = "auto", "Approved by policy"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXCLUDED = "excluded", "Excluded by policy"


class PolicyAction(models.TextChoices):
    """A policy's answer for one kind of update."""

    AUTO = "auto", "Approve automatically"
    MANUAL = "manual", "Approve by hand"
    EXCLUDE = "exclude", "Never install"


class PolicyLevel(models.TextChoices):
    TENANT = "tenant", "Tenant"
    SITE = "site", "Site"
    ASSET_GROUP = "asset_group", "Asset group"
    DEVICE = "device", "Device"


class RebootMode(models.TextChoices):
    NEVER = "never", "Never"
    IF_REQUIRED = "if_required", "If the update requires it"
    ALWAYS = "always", "Always"


class JobOutcome(models.TextChoices):
    """The last install attempt's outcome for one update on one device (from the job)."""

    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
