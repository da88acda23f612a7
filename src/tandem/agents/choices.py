"""The agents app's fixed vocabularies."""

from __future__ import annotations

from django.db import models


class SoftwareChangeKind(models.TextChoices):
    """What the server learned about one package between two inventories of a device."""

    INSTALLED = "installed", "Installed"
    REMOVED = "removed", "Removed"
    UPGRADED = "upgraded", "Upgraded"
    DOWNGRADED = "downgraded", "Downgraded"


class ReportKind(models.TextChoices):
    INVENTORY = "inventory", "Inventory"
    JOB_RESULT = "job_result", "Job result"
