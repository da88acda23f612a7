from tandem.core.apps import TandemAppConfig

VIEW_MATRIX = "responsibility.view_matrix"
CHANGE_MATRIX = "responsibility.change_matrix"


class ResponsibilityConfig(TandemAppConfig):
    """The responsibility matrix, its coverage, versions, routing and gap analysis: who
    handles what, when (decision 0024). The desk asks it who takes a ticket; patching and
    security will ask it who approves a patch or answers an alert."""

    name = "tandem.responsibility"
    label = "responsibility"
    verbose_name = "Responsibility matrix"
    tenant_sections = (
        (
            "matrix",
            "Responsibility matrix",
            "responsibility:matrix",
            "responsibility.view_matrix",
            50,
        ),
    )

    api_routers = ("tandem.responsibility.api.router",)
    url_modules = ("tandem.responsibility.urls",)
    permissions = (VIEW_MATRIX, CHANGE_MATRIX)
    # Everyone on a desk reads the matrix (the tenant's IT, its providers, auditors); the
    # tenant's owners change it. What the desk gave with ``servicedesk.*_matrix`` before.
    role_permissions = {
        "tenant-owner": (VIEW_MATRIX, CHANGE_MATRIX),
        "internal-technician": (VIEW_MATRIX,),
        "auditor": (VIEW_MATRIX,),
        "provider-admin": (VIEW_MATRIX,),
        "provider-technician": (VIEW_MATRIX,),
    }
    isolation_expectations = ("tests.isolation.expect_responsibility",)
