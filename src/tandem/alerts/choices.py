"""Enumerations of the alerts domain."""

from django.db import models


class Severity(models.TextChoices):
    INFORMATIONAL = "informational", "Informational"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


#: Severity as a number, for sorting (the queue lists the worst first).
SEVERITY_RANK: dict[str, int] = {
    Severity.INFORMATIONAL: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}


class AlertStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    FALSE_POSITIVE = "false_positive", "False positive"
    RESOLVED = "resolved", "Resolved"


#: The statuses of an alert someone still has to deal with.
OPEN_STATUSES = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)
