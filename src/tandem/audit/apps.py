from tandem.core.apps import TandemAppConfig

_READ_ALL = ("audit.view_auditentry", "audit.view_all_auditentry")


class AuditConfig(TandemAppConfig):
    name = "tandem.audit"
    label = "audit"
    verbose_name = "Audit log"
    tenant_sections = (("audit", "Audit log", "audit:log", "audit.view_auditentry", 110),)

    api_routers = ("tandem.audit.api.router",)
    url_modules = ("tandem.audit.urls",)
    cli_commands = ("tandem.audit.cli",)
    permissions = _READ_ALL
    role_permissions = {
        "tenant-owner": _READ_ALL,
        "auditor": _READ_ALL,
        # A provider's admin reads its own party's trail (audit.policies).
        "provider-admin": ("audit.view_auditentry",),
    }
