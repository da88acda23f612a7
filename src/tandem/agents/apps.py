from tandem.agents.permissions import MANAGE_ENROLMENT
from tandem.core.apps import TandemAppConfig


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
    schedule = (
        (
            "purge-agent-reports",
            24 * 3600,
            "tandem.agents.checkin_services.purge_agent_reports_task",
        ),
        (
            "purge-unheld-software-titles",
            24 * 3600,
            "tandem.agents.checkin_services.purge_unheld_titles_task",
        ),
    )
    isolation_expectations = ("tests.isolation.expect_agents",)
    test_world = ("tandem.agents.tests.world.build_agents_world",)

    def ready(self) -> None:
        from tandem.agents.sections import inventory_section, updates_section
        from tandem.assets.queries import register_device_section

        # The device page (assets) shows what the agent reported, without knowing agents.
        register_device_section(inventory_section)
        register_device_section(updates_section)
