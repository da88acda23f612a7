"""The jobs' pages, in the ``jobs`` namespace."""

from django.urls import path

from tandem.jobs import views

app_name = "jobs"

urlpatterns = [
    path("devices/<id:device_id>/jobs/new/", views.job_request, name="job-request"),
    path("jobs/approvals/", views.approvals, name="job-approvals"),
    path("jobs/<id:job_id>/", views.job_detail, name="job"),
    path("jobs/<id:job_id>/approve/", views.job_approve, name="job-approve"),
    path("jobs/<id:job_id>/reject/", views.job_reject, name="job-reject"),
    path("jobs/<id:job_id>/cancel/", views.job_cancel, name="job-cancel"),
]
