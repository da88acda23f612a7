"""Enrolment tokens, device credentials and the normalised inventory the agents report.

The device itself is the assets app's ``Device``; this app holds how a device proves who it
is (decision 0027) and what it last said about itself (decision 0025).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.agents.choices import ReportKind, SoftwareChangeKind
from tandem.core.models import TenantOwned, tenant_manager

#: Where a device's own rows name it: a device principal reaches only its device's
#: (decision 0032); the enrolment tokens, which name no device, refuse it.
DEVICE_ROWS = "device"


class EnrolmentToken(TenantOwned):
    """A secret that lets agents enrol devices into a tenant (optionally a site and an asset
    group). Only its SHA-256 hash is kept; the secret is shown once, when it is made."""

    name = models.CharField(max_length=200)
    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.PROTECT)
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.PROTECT
    )
    #: The first characters of the secret, to tell tokens apart in lists.
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    #: None: any number of devices may enrol with it until it expires.
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class DeviceCredential(TenantOwned):
    """One device's bearer secret for ``/agent/v1/`` (hash only). Rotation adds a new one;
    the old one stays valid until the new one is first used (decision 0025), then both the
    old and any other earlier credential are revoked."""

    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")

    device_scope_field = DEVICE_ROWS
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    first_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["device", "revoked_at"], name="agents_cred_device_live")]

    def __str__(self) -> str:
        return f"{self.prefix}…"


class AgentState(TenantOwned):
    """What the server holds of one device's agent: its last inventory document and hash
    (the base of the next delta), the last report sequence applied, and its version.

    The document is kept as zlib-compressed canonical JSON (``documents.pack``), read only
    when a delta must be applied to it: an unchanged check-in reads the hash and sequence
    alone (decision 0028). ``state_hash`` is empty exactly when no document is held."""

    device = models.OneToOneField("assets.Device", on_delete=models.CASCADE, related_name="+")

    device_scope_field = DEVICE_ROWS
    document_gz = models.BinaryField(null=True, blank=True)
    state_hash = models.CharField(max_length=80, blank=True, default="")
    last_sequence = models.BigIntegerField(default=0)
    agent_version = models.CharField(max_length=40, blank=True, default="")
    #: When the server should rotate this device's credential on its next check-in.
    rotate_requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"agent state of device {self.device_id}"


class AgentReport(TenantOwned):
    """A report id the server took from a device: a report sent again (a lost answer) is
    acknowledged from here and not applied twice."""

    #: Not indexed on its own: the unique (device, report id) index serves every lookup by
    #: device, and one index fewer is one write fewer per check-in (decision 0043).
    device = models.ForeignKey(
        "assets.Device", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    device_scope_field = DEVICE_ROWS
    report_id = models.UUIDField()
    sequence = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "report_id"], name="agents_report_once")
        ]

    def __str__(self) -> str:
        return str(self.report_id)


#: A title's facts, the columns it adds to ``TenantOwned``'s (decision 0043).
TITLE_FIELDS = (
    "item_id",
    "name",
    "version",
    "architecture",
    "source_package",
    "source_version",
)


class SoftwareTitle(TenantOwned):
    """One distinct package as a tenant's devices report it: the item id and the five facts
    of a package, stored once per tenant however many devices have it (decision 0043).

    ``key`` is a 128-bit BLAKE2b digest of the six values (``titles.title_key``), so the
    title a package is resolved to is found by one index lookup, and wide text is written
    only the first time a tenant's fleet reports that exact package. Per tenant, not a
    global catalogue: the names of a tenant's in-house software are its data, and a title
    row must fall under the same fail-closed tenant scope as everything else. Titles are
    never updated: a package whose version changes is another title."""

    #: Not indexed on its own: the unique (tenant, key) index starts with it. The extra
    #: index was one more write per new title, and with the statistics of a table that
    #: had just grown (a tenant enrolling its fleet) PostgreSQL read the tenant's whole
    #: titles through it to find a handful of keys (decision 0049, fourth round).
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, db_index=False)
    #: ``titles.title_key`` of the six values below.
    key = models.UUIDField()
    #: The agent's stable item id (``openssl:amd64``, a registry key, a pkgutil id).
    item_id = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    version = models.CharField(max_length=200, blank=True, default="")
    architecture = models.CharField(max_length=40, blank=True, default="")
    source_package = models.CharField(max_length=500, blank=True, default="")
    source_version = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="agents_title_once")]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class TitleGeneration(models.Model):
    """A tenant's title generation (decision 0049): changed, in the same transaction, by
    every purge that deletes titles of the tenant. A web process keeps the title ids it
    learned keyed by (tenant, generation) (``titles.TitleCache``); a check-in reads the
    generation under the tenant's title lock, so an id cached before a purge is never used
    after it. Made by the tenant's first check-in that resolves titles, with a random start:
    a tenant id used again (a test database) never meets an old process's cache."""

    tenant = models.OneToOneField(
        "tenancy.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    value = models.BigIntegerField()

    objects = tenant_manager()

    def __str__(self) -> str:
        return f"title generation {self.value} of tenant {self.tenant_id}"


class InstalledSoftware(models.Model):
    """A software title installed on a device, as its last inventory said: three integers
    a row (decision 0043). The package's facts are its ``title``'s; read them through
    ``agents.queries.software``, which names them as the columns this table once held.

    Tenant-owned like every other row (a non-null tenant and the scoped manager),
    without ``created_at``/``updated_at``: when a package came is its ``SoftwareChange``,
    and two timestamps were a third of the row. The primary key is the pair (device, title),
    so a device's rows are one index range and no sequence is drawn per row."""

    pk = models.CompositePrimaryKey("device", "title")
    # No database-level foreign keys here (``db_constraint=False``): PostgreSQL checks each
    # one per row, at commit, and three checks a row cost four times the row's own insert
    # (decision 0043). Django still enforces ``on_delete`` (a device's rows go with it; a
    # tenant or a title in use cannot go), and only the check-in writes these rows, with
    # the ids of the device its credential reached and of titles it just resolved in that
    # device's tenant.
    #: Not indexed (decision 0049): every read of these rows names the device (the primary
    #: key's prefix) or the title, and with an index on the tenant PostgreSQL ANDed the two
    #: bitmaps, reading every row of the tenant to find one device's (10 ms at 100,000 rows);
    #: it was also a third of each row's index writes. The tenant filter stays on every query.
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    #: Not indexed on its own: the primary key (device, title) starts with it.
    device = models.ForeignKey(
        "assets.Device",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    #: Indexed: which devices have a title (a package's spread across the fleet).
    title = models.ForeignKey(
        SoftwareTitle, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )

    objects = tenant_manager()
    device_scope_field = DEVICE_ROWS

    def __str__(self) -> str:
        return f"title {self.title_id} on device {self.device_id}"


class PendingUpdate(TenantOwned):
    """One update a device's package manager offers, as its last inventory said."""

    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")

    device_scope_field = DEVICE_ROWS
    item_id = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    architecture = models.CharField(max_length=40, blank=True, default="")
    current_version = models.CharField(max_length=200, blank=True, default="")
    candidate_version = models.CharField(max_length=200, blank=True, default="")
    security = models.BooleanField(default=False)
    origin = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["name", "architecture", "id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "item_id"], name="agents_update_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.current_version} → {self.candidate_version}"


class SoftwareChange(TenantOwned):
    """A package installed, removed, upgraded or downgraded on a device, stamped with the
    time the server learned it (never the agent's clock: decision 0025)."""

    device = models.ForeignKey("assets.Device", on_delete=models.CASCADE, related_name="+")

    device_scope_field = DEVICE_ROWS
    item_id = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    architecture = models.CharField(max_length=40, blank=True, default="")
    kind = models.CharField(max_length=20, choices=SoftwareChangeKind.choices)
    from_version = models.CharField(max_length=200, blank=True, default="")
    to_version = models.CharField(max_length=200, blank=True, default="")
    learned_at = models.DateTimeField()
    report_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-learned_at", "-id"]
        indexes = [models.Index(fields=["device", "-learned_at"], name="agents_change_device")]

    def __str__(self) -> str:
        return f"{self.name} {self.kind}"
