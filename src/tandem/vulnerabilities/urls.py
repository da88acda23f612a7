"""The vulnerabilities pages, in the ``vulnerabilities`` namespace."""

from django.urls import path

from tandem.vulnerabilities import views

app_name = "vulnerabilities"

urlpatterns = [
    path("tenants/<id:tenant_id>/vulnerabilities/", views.dashboard, name="vuln-dashboard"),
    path("tenants/<id:tenant_id>/vulnerabilities/findings/", views.findings, name="vuln-findings"),
    path(
        "tenants/<id:tenant_id>/vulnerabilities/findings.csv",
        views.findings_csv,
        name="vuln-findings-csv",
    ),
    path("vulnerabilities/findings/<id:finding_id>/", views.finding, name="vuln-finding"),
    path(
        "vulnerabilities/findings/<id:finding_id>/accept-risk/",
        views.accept_risk,
        name="vuln-accept-risk",
    ),
    path("vulnerabilities/findings/<id:finding_id>/reopen/", views.reopen, name="vuln-reopen"),
]
