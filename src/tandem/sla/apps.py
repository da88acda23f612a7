from tandem.core.apps import TandemAppConfig


class SlaConfig(TandemAppConfig):
    name = "tandem.sla"
    label = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from tandem.audit.references import register_reference

        # Calendars are desk configuration: readable wherever the matrix is.
        register_reference(
            ("calendar_id",),
            kind="calendar",
            model="sla.Calendar",
            action="servicedesk.view_matrix",
            whole_tenant=True,
        )
