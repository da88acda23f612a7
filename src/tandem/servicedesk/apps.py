from django.apps import AppConfig


class ServiceDeskConfig(AppConfig):
    name = "tandem.servicedesk"
    label = "servicedesk"
    verbose_name = "Service desk"

    def ready(self) -> None:
        from tandem.audit.references import register_reference
        from tandem.servicedesk import desk_config

        desk_config.connect_signals()
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
