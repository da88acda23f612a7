"""Jobs on devices and their history (decision 0029).

A job is a domain object of its own, not a background task: a person (or the patching app)
asks for work on one device, the party accountable for a protected device approves it, the
device's agent is handed it on check-in within its window and reports how it ended.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tandem.core.models import TenantOwned
from tandem.jobs.machine import DISPATCHABLE, TERMINAL, Kind, State

#: Output kept per job (the agent caps what it sends too); longer output is cut and the job
#: says so (``output_truncated``).
MAX_OUTPUT_BYTES = 64 * 1024


class Job(TenantOwned):
    """Work for one device: a script, installing updates or a reboot.

    ``approver_party`` is the party accountable for the device when the job was requested
    (the responsibility matrix, decision 0029); only its members approve or reject a job
    that needs approval. ``not_before``/``not_after`` is the window: the agent is handed the
    job at its first check-in inside it, and a job not started by ``not_after`` expires.
    ``origin`` says where the request came from: ``manual`` for a person, ``patching:<ref>``
    for the patching app.
    """

    device = models.ForeignKey("assets.Device", on_delete=models.PROTECT, related_name="jobs")
    #: The agent reaches its own device's jobs only (decision 0032's device scope).
    device_scope_field = "device"
    kind = models.CharField(
        max_length=20, choices=[(k.value, k.value.replace("_", " ")) for k in Kind]
    )
    parameters = models.JSONField(default=dict)
    state = models.CharField(
        max_length=20,
        choices=[(s.value, s.value.replace("_", " ")) for s in State],
        default=State.REQUESTED.value,
    )
    reason = models.CharField(max_length=500)
    origin = models.CharField(max_length=120, default="manual")
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(max_length=200)
    requested_by_party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approval_required = models.BooleanField(default=False)
    approver_party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: Why that party: the matrix row (or the fallback) in one line a person can read.
    approver_reason = models.CharField(max_length=300, blank=True, default="")
    approved_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_label = models.CharField(max_length=200, blank=True, default="")
    approved_by_party = models.ForeignKey(
        "tenancy.Party", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    #: The agent starts a job as it receives it (decision 0029): the moment it was handed
    #: out, kept apart so a later protocol that reports the start can fill it.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True, default="")
    output_truncated = models.BooleanField(default=False)
    #: The agent's ``job_result`` report that ended the job.
    result_report_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The check-in's one query (decision 0030): only jobs that wait to be handed out
            # are in it, so a device with none costs one probe of a tiny index.
            models.Index(
                fields=["device", "not_before"],
                condition=Q(state__in=sorted(s.value for s in DISPATCHABLE)),
                name="job_due",
            ),
            models.Index(fields=["device", "-created_at"], name="job_device_recent"),
            models.Index(fields=["approver_party", "state"], name="job_approver_state"),
            models.Index(fields=["state", "not_after"], name="job_state_window"),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.kind})"

    @property
    def is_finished(self) -> bool:
        """Whether the job has ended (succeeded, failed, expired, cancelled or rejected)."""
        return self.state in TERMINAL


class JobTransition(TenantOwned):
    """One state change of a job: from, to, when, who (in words) and why."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="transitions")
    device_scope_field = "job__device"
    from_state = models.CharField(max_length=20, blank=True, default="")
    to_state = models.CharField(max_length=20)
    at = models.DateTimeField()
    actor_label = models.CharField(max_length=200)
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["job", "at"], name="jobtransition_job_at")]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state}"
