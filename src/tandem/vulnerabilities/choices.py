"""The vulnerabilities app's vocabularies (decision 0038)."""

from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    """Highest first; ``informational`` is what the Debian tracker calls *unimportant*."""

    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFORMATIONAL = "informational", "Informational"
    UNKNOWN = "unknown", "Unknown"


class FindingStatus(models.TextChoices):
    """Where one finding stands: open (vulnerable now), risk accepted (vulnerable, a person
    accepted it with a reason until an expiry), fixed (the device no longer matches)."""

    OPEN = "open", "Open"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"
    FIXED = "fixed", "Fixed"


class AdvisorySource(models.TextChoices):
    OSV = "osv", "OSV"
    DEBIAN_TRACKER = "debian-tracker", "Debian Security Tracker"
