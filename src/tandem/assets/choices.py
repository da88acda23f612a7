"""The assets app's fixed vocabularies."""

from __future__ import annotations

from django.db import models


class OsFamily(models.TextChoices):
    LINUX = "linux", "Linux"
    WINDOWS = "windows", "Windows"
    MACOS = "macos", "macOS"
    OTHER = "other", "Other"


class DeviceStatus(models.TextChoices):
    #: Enrolled and reporting (or expected to): shown in lists, online or offline.
    ACTIVE = "active", "Active"
    #: Taken out of service: kept with its history and tickets, no longer expected to report.
    RETIRED = "retired", "Retired"


class AlertDevices(models.TextChoices):
    """Which devices an offline alert policy watches (decision 0032)."""

    ALL = "all", "Every active device"
    PROTECTED = "protected", "Protected devices only"
    ASSET_GROUP = "asset_group", "The devices of one asset group"
