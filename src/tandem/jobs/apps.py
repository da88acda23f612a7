from tandem.core.apps import TandemAppConfig
from tandem.jobs.permissions import APPROVE_JOB, REQUEST_JOB, RUN_SCRIPT, VIEW_JOB


class JobsConfig(TandemAppConfig):
    """Jobs on devices: run a script, install updates, reboot. A domain object with its own
    state machine and approvals by the party accountable for the device, handed to the
    device's agent on check-in (decision 0029); not the background-task queue."""

    name = "tandem.jobs"
    label = "jobs"
    verbose_name = "Jobs"
    # The jobs awaiting the reader's approval, across every tenant it serves.
    workspace_links = (("job-approvals", "Job approvals", "jobs:job-approvals", APPROVE_JOB, 40),)

    api_routers = ("tandem.jobs.api.router",)
    url_modules = ("tandem.jobs.urls",)
    schedule = (("expire-jobs", 60, "tandem.jobs.tasks.expire_jobs_task"),)
    permissions = (VIEW_JOB, REQUEST_JOB, RUN_SCRIPT, APPROVE_JOB)
    # The tenant's IT requests, scripts and approves; auditors read. A provider's admin
    # may do what its technicians do plus scripts and approvals, always inside its
    # engagement (its scope, and the engagement's allowed actions): policies.
    role_permissions = {
        "tenant-owner": (VIEW_JOB, REQUEST_JOB, RUN_SCRIPT, APPROVE_JOB),
        "internal-technician": (VIEW_JOB, REQUEST_JOB, RUN_SCRIPT, APPROVE_JOB),
        "auditor": (VIEW_JOB,),
        "provider-admin": (VIEW_JOB, REQUEST_JOB, RUN_SCRIPT, APPROVE_JOB),
        "provider-technician": (VIEW_JOB, REQUEST_JOB),
    }

    isolation_expectations = ("tests.isolation.expect_jobs",)
    test_world = ("tandem.jobs.tests.world.build_jobs_world",)

    def ready(self) -> None:
        from tandem.assets.queries import register_device_section
        from tandem.jobs.sections import jobs_section

        # The device page (assets) lists the device's jobs without knowing this app.
        register_device_section(jobs_section)
