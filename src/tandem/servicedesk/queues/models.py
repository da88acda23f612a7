"""Saved views of the queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.models import TimeStamped


class SavedView(TimeStamped):
    """A person's named set of queue filters ("P1s breaching at Acme").

    Personal: only its owner sees or deletes it. A ``tenant_id`` among the filters narrows
    the view to one tenant; without it the view spans every tenant the owner works in. (The
    tenant is kept in the filters, not as a foreign key: a tenant column would make this a
    tenant-scoped row, and a cross-tenant view belongs to no tenant.) The filters are applied
    through the owner's access every time the view is opened, so a view never reveals more
    than the queue itself would.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
