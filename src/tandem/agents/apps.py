from tandem.core.apps import TandemAppConfig

#: Create, list and revoke enrolment tokens; rotate or revoke a device's credential.
MANAGE_ENROLMENT = "agents.manage_enrolment"


class AgentsConfig(TandemAppConfig):
    """The endpoint agents' side of the server: enrolment tokens, device credentials (a
    principal of their own, decision 0027), the ``/agent/v1/`` protocol (decision 0025) and
    the normalised inventory with its change history."""

    name = "tandem.agents"
    label = "agents"
    verbose_name = "Agents"

    api_routers = ("tandem.agents.api.router",)
    url_modules = ("tandem.agents.urls",)
    permissions = (MANAGE_ENROLMENT,)
    # The tenant's IT and its providers' admins enrol devices; technicians and auditors
    # read inventories through ``assets.view_device`` and enrol nothing.
    role_permissions = {
        "tenant-owner": (MANAGE_ENROLMENT,),
        "internal-technician": (MANAGE_ENROLMENT,),
        "provider-admin": (MANAGE_ENROLMENT,),
    }

    def ready(self) -> None:
        # The policies register themselves on import (``tandem.core.policies``).
        from tandem.agents import policies  # noqa: F401
