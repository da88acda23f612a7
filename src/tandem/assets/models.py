"""Devices: the tenant's computers and servers, each a first-class tenant-owned object that
tickets link to and that the endpoint agent reports on (decision 0026).

The agent's own tables (enrolment tokens, credentials, inventory) live in the ``agents``
app, which depends on this one; a device names no agent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.assets.choices import AlertDevices, DeviceStatus, OsFamily
from tandem.core.models import TenantOwned


class Device(TenantOwned):
    """One device of a tenant, optionally placed at a site and in an asset group.

    Identity is what the agent reports (``hardware_id``: the machine-id or SMBIOS UUID,
    unique in a tenant when known; ``hostname``; ``serial_number``); ``name`` is what people
    call it and defaults to the hostname. ``protected`` marks a device on which every job
    needs the approval of the party accountable for it.
    """

    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.PROTECT)
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.PROTECT
    )
    name = models.CharField(max_length=200)
    hostname = models.CharField(max_length=255, blank=True, default="")
    hardware_id = models.CharField(max_length=128, blank=True, default="")
    serial_number = models.CharField(max_length=128, blank=True, default="")
    os_family = models.CharField(max_length=16, choices=OsFamily.choices, default=OsFamily.OTHER)
    os_name = models.CharField(max_length=120, blank=True, default="")
    os_version = models.CharField(max_length=120, blank=True, default="")
    kernel = models.CharField(max_length=120, blank=True, default="")
    architecture = models.CharField(max_length=32, blank=True, default="")
    protected = models.BooleanField(
        default=False,
        help_text="Jobs on this device need the approval of the party accountable for it.",
    )
    status = models.CharField(
        max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.ACTIVE
    )
    enrolled_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)
    #: The hash of the last full inventory the agent reported (decision 0025): the agent
    #: sends deltas against it, and a mismatch asks for a full report.
    inventory_hash = models.CharField(max_length=128, blank=True, default="")
    #: The agent's word that the device must restart (None: it never said); and since when
    #: it has said so without a break (patch compliance's reboot debt, decision 0033).
    reboot_pending = models.BooleanField(null=True, blank=True)
    reboot_pending_since = models.DateTimeField(null=True, blank=True)

    #: A device principal reads only this one device (decision 0032).
    device_scope_field = "pk"

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "hardware_id"],
                condition=~models.Q(hardware_id=""),
                name="device_unique_hardware_id",
            ),
        ]
        indexes = [
            # The lists by name; by last check-in (newest first, never seen last) the
            # indexes come from migration 0002, per database: SQLite has no NULLS LAST in
            # an index, which PostgreSQL needs to walk that order without sorting.
            models.Index(fields=["tenant", "name", "id"], name="device_tenant_name"),
            # Identity lookups (the agents app finds a device by hostname or serial; support
            # staff paste one into the search). Substring search scans the devices a reader
            # sees in one tenant or scope, bounded by the capped count (decision 0026).
            models.Index(fields=["tenant", "hostname"], name="device_tenant_hostname"),
            models.Index(fields=["tenant", "serial_number"], name="device_tenant_serial"),
        ]

    def __str__(self) -> str:
        return self.name


class OfflineAlertPolicy(TenantOwned):
    """When a device that stopped checking in opens a ticket (decision 0032).

    One row per tenant with no ``site`` (the tenant's policy) and at most one per site (an
    override for the devices placed there, used instead of the tenant's). ``minutes`` is how
    long a device may go without a check-in before it counts as gone; ``devices`` narrows
    which devices are watched. The ticket is opened in the service area and with the impact
    and urgency given here (the tenant's priority matrix makes the priority), in the name of
    ``requester`` (the person who last saved the policy), and routed by the responsibility
    matrix like any other ticket.
    """

    site = models.ForeignKey("tenancy.Site", null=True, blank=True, on_delete=models.CASCADE)
    enabled = models.BooleanField(default=False)
    minutes = models.PositiveIntegerField(default=60)
    devices = models.CharField(
        max_length=16, choices=AlertDevices.choices, default=AlertDevices.ALL
    )
    asset_group = models.ForeignKey(
        "tenancy.AssetGroup", null=True, blank=True, on_delete=models.PROTECT
    )
    service_area = models.ForeignKey(
        "tenancy.ServiceArea", null=True, blank=True, on_delete=models.PROTECT
    )
    impact = models.PositiveSmallIntegerField(default=2)
    urgency = models.PositiveSmallIntegerField(default=2)
    #: When the device checks in again: resolve the ticket (else only add a note).
    resolve_on_return = models.BooleanField(default=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["tenant_id", "site_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(site__isnull=True),
                name="offline_policy_tenant",
            ),
            models.UniqueConstraint(
                fields=["tenant", "site"],
                condition=models.Q(site__isnull=False),
                name="offline_policy_site",
            ),
        ]

    def __str__(self) -> str:
        return f"offline alerts of tenant {self.tenant_id}" + (
            f", site {self.site_id}" if self.site_id else ""
        )


class OfflineEpisode(TenantOwned):
    """One stretch of time a device was gone under its offline alert policy: opened by the
    periodic check when the device passed the policy's minutes without a check-in, closed
    when it checks in again. At most one open episode per device (a constraint), so a
    device goes offline once per episode however often the check runs."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")

    device_scope_field = "device"

    policy = models.ForeignKey(
        OfflineAlertPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: When the check noticed the device gone.
    started_at = models.DateTimeField()
    #: The device's last check-in before it went (None: it never checked in).
    last_seen_at = models.DateTimeField(null=True, blank=True)
    #: When the check saw it back, and the check-in that showed it.
    ended_at = models.DateTimeField(null=True, blank=True)
    back_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(ended_at__isnull=True),
                name="offline_episode_open_once",
            ),
        ]
        # The check's scan of open episodes walks this constraint's partial index.

    def __str__(self) -> str:
        return f"device {self.device_id} offline since {self.started_at:%Y-%m-%d %H:%M}"
