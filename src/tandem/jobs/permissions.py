"""The jobs app's permissions and the engagement actions it reads, apart from ``apps`` so
that the modules the app's ``ready`` imports can name them without an import cycle."""

VIEW_JOB = "jobs.view_job"
REQUEST_JOB = "jobs.request_job"
RUN_SCRIPT = "jobs.run_script"
APPROVE_JOB = "jobs.approve_job"

#: The engagement actions (``tenancy.choices.ENGAGEMENT_ACTIONS``) a provider needs on top
#: of its role: any job, and a script in particular (decision 0029).
ENGAGEMENT_JOBS = "jobs.request"
ENGAGEMENT_SCRIPTS = "assets.run_scripts"
