"""Base classes shared by every tenant-owned model, and the scheduler's claims: the one
concrete model of ``core``, because every app may declare periodic jobs."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django_scopes import ScopedManager
from django_scopes.exceptions import ScopeError
from django_scopes.manager import DisabledQuerySet

from tandem.core.scoping import DEVICE, scope_value

#: What a query of a model that is not the device's own says under a device principal.
DEVICE_REFUSAL = (
    "A device principal reaches only its own device's rows (decision 0032): "
    "{model} is not one of them."
)


class DeviceRefusedQuerySet(DisabledQuerySet):
    """A query of a tenant-owned model that no device principal may run: every way of
    running it raises ``ScopeError``, as a query without a scope does (fail closed)."""

    def error(self, *args: Any, **kwargs: Any) -> Any:
        raise ScopeError(DEVICE_REFUSAL.format(model=self.model.__name__))


# DisabledQuerySet binds its refusing names to its own ``error`` when the class is made;
# rebinding them here makes each of them say why a device is refused.
for _name, _value in list(vars(DisabledQuerySet).items()):
    if _value is DisabledQuerySet.error:
        setattr(DeviceRefusedQuerySet, _name, DeviceRefusedQuerySet.error)


class _DeviceAwareManager(models.Manager):  # type: ignore[type-arg]
    """The base of every tenant-scoped manager: under a device principal's scope (the
    ``device`` dimension holds its one device id) a model that names no device field
    (``device_scope_field``) refuses to run, and one that does keeps only that device's
    rows. Without a device in the scope (people, tasks, the CLI) it adds nothing to the
    tenant filter."""

    def get_queryset(self) -> models.QuerySet[Any]:
        device_ids = scope_value(DEVICE)
        if device_ids is None:
            return super().get_queryset()
        field = getattr(self.model, "device_scope_field", None)
        if field is None:
            return DeviceRefusedQuerySet(self.model, using=self._db, missing_scopes=[DEVICE])
        return super().get_queryset().filter(**{f"{field}__in": device_ids})


def tenant_manager(field: str = "tenant") -> Any:
    """The default manager of a tenant-scoped model: ``django_scopes.ScopedManager`` on the
    ``tenant`` dimension (no scope, no query), narrowed to one device under a device
    principal when the model names its device (``device_scope_field``: ``"pk"`` for the
    device itself, ``"device"`` for its rows), refusing there when it names none."""
    return ScopedManager(_manager_class=_DeviceAwareManager, tenant=field)


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

    objects = tenant_manager()
    #: The field naming the device a row belongs to, for the device principal's scope
    #: (decision 0032): None, the default, makes the model refuse a device principal.
    device_scope_field: ClassVar[str | None] = None

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
