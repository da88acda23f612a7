from tandem.core.apps import TandemAppConfig

#: Working tickets: everyone on a desk, the tenant's own IT and its providers alike.
DESK_WORK = (
    "servicedesk.view_ticket",
    "servicedesk.add_ticket",
    "servicedesk.change_ticket",
    "servicedesk.handoff_ticket",
    "servicedesk.comment_ticket",
    "servicedesk.log_time_on_ticket",
    "servicedesk.view_matrix",
    # Log a ticket for a caller (pick or add the requester, the source, the assignee).
    "servicedesk.log_ticket",
    # Canned replies: the tenant's and the person's own party's.
    "servicedesk.view_cannedreply",
    "servicedesk.change_cannedreply",
)


class ServiceDeskConfig(TandemAppConfig):
    name = "tandem.servicedesk"
    label = "servicedesk"
    verbose_name = "Service desk"
    tenant_sections = (
        ("tickets", "Tickets", "servicedesk:tickets", "servicedesk.view_ticket", 20),
    )

    # Each aggregate's router and pages are mounted by the desk's own index modules.
    api_routers = ("tandem.servicedesk.api.router",)
    url_modules = ("tandem.servicedesk.urls",)
    cli_commands = ("tandem.servicedesk.cli",)
    schedule = (("check-sla", 60, "tandem.servicedesk.tasks.check_sla_task"),)
    permissions = (*DESK_WORK, "servicedesk.view_all_ticket", "servicedesk.change_matrix")
    role_permissions = {
        "tenant-owner": (*DESK_WORK, "servicedesk.view_all_ticket", "servicedesk.change_matrix"),
        "internal-technician": (*DESK_WORK, "servicedesk.view_all_ticket"),
        "auditor": (
            "servicedesk.view_ticket",
            "servicedesk.view_all_ticket",
            "servicedesk.view_matrix",
        ),
        "requester": (
            "servicedesk.view_ticket",
            "servicedesk.add_ticket",
            "servicedesk.comment_ticket",
        ),
        "provider-admin": DESK_WORK,
        "provider-technician": DESK_WORK,
    }
    isolation_expectations = (
        "tests.isolation.expect_portal",
        "tests.isolation.expect_queues",
        "tests.isolation.expect_ticket_files",
        "tests.isolation.expect_config",
        "tests.isolation.expect_intake",
    )
    test_world = (
        "tests.personas.build_ticket_files_world",
        "tests.personas.build_queues_world",
        "tests.personas.build_config_world",
        "tests.personas.build_intake_world",
    )

    def ready(self) -> None:
        from tandem.assets.queries import register_device_section
        from tandem.audit.references import register_reference
        from tandem.servicedesk import desk_config
        from tandem.servicedesk.config.services import set_up_desk
        from tandem.servicedesk.tickets.device_section import device_tickets_section
        from tandem.tenancy.services import register_tenant_set_up

        desk_config.connect_signals()
        # A new tenant's desk settings are made with the tenant, in its transaction.
        register_tenant_set_up(set_up_desk)
        desk_config.provide_routing_inputs()
        # The device page lists a device's tickets; assets does not import the desk.
        register_device_section(device_tickets_section)
        register_reference(
            ("category_id",),
            kind="category",
            model="servicedesk.Category",
            action="servicedesk.view_matrix",
            whole_tenant=True,
        )
        register_reference(
            ("parent_id", "into_id", "merged_into_id", "ticket_id"),
            kind="ticket",
            model="servicedesk.Ticket",
            action="servicedesk.view_ticket",
            name_field="subject",
        )
