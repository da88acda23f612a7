"""Base classes shared by every tenant-owned model, and the scheduler's claims: the one
concrete model of ``core``, because every app may declare periodic jobs."""

from __future__ import annotations

from django.db import models
from django_scopes import ScopedManager


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantOwned(TimeStamped):
    """A row that belongs to exactly one tenant.

    Its default manager refuses to run a query unless a tenant scope (or a named system
    context) is active: see ``tandem.core.scoping``.
    """

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, db_index=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True


class ScheduledRun(TimeStamped):
    """When each periodic job (``TandemAppConfig.schedule``) last ran and is next due. Not
    tenant data: one row per job name, claimed with a conditional update so that of several
    workers exactly one runs a due job (decision 0009).

    The table keeps the name it was created under in the notifications app: renaming it
    would make ``core``'s migrations depend on that app's (see decision 0021)."""

    name = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField()

    class Meta:
        db_table = "notifications_scheduledrun"

    def __str__(self) -> str:
        return self.name


class OutboxEvent(models.Model):
    """One domain event, written in the transaction of the change it records (a
    transactional outbox, decision 0022), and what became of its subscribers.

    Not tenant data behind a scoped manager: only the dispatcher reads it, in a named system
    context; ``tenant_id`` is a plain number (core depends on no app) that subscribers use to
    enter the right tenant. ``handled`` names the subscribers that have run, each marked in
    the same transaction as its own writes, so a retry runs only the others.
    """

    type = models.CharField(max_length=60)
    tenant_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    handled = models.JSONField(default=list)
    #: Set once every subscriber has run; until then the sweeper re-dispatches the row.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: When the sweeper takes the row up again (a lost task, a failure's backoff, a lease).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=2000, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
