from tandem.core.apps import TandemAppConfig

_MANAGE_PEOPLE = (
    "accounts.view_membership",
    "accounts.add_membership",
    "accounts.change_membership",
)


class AccountsConfig(TandemAppConfig):
    name = "tandem.accounts"
    label = "accounts"
    verbose_name = "People and access"
    tenant_sections = (("people", "People", "accounts:people", "accounts.view_membership", 100),)

    api_routers = ("tandem.accounts.api.router",)
    url_modules = ("tandem.accounts.urls",)
    cli_commands = ("tandem.accounts.cli",)
    permissions = _MANAGE_PEOPLE
    role_permissions = {
        "tenant-owner": _MANAGE_PEOPLE,
        "internal-technician": ("accounts.view_membership",),
        "auditor": ("accounts.view_membership",),
        "provider-admin": _MANAGE_PEOPLE,
    }

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tandem.accounts import access_cache
        from tandem.accounts.services import make_first_owner, sync_roles_after_migrate
        from tandem.audit.references import USER, register_reference
        from tandem.tenancy.services import register_owner_maker

        # People named in audit changes: through the memberships the reader may see in the
        # tenant (actors are named from the entries themselves).
        register_reference(
            ("user_id", "assignee_id", "watcher_id", "actor_id"),
            kind=USER,
            model="accounts.Membership",
            action="accounts.view_membership",
            key_field="user_id",
            name_field="user__full_name",
        )
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        access_cache.connect_signals()
        register_owner_maker(make_first_owner)
