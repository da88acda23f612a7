from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tandem.accounts"
    label = "accounts"
    verbose_name = "People and access"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tandem.accounts import access_cache

        post_migrate.connect(_sync_roles, sender=self)
        access_cache.connect_signals()


def _sync_roles(**kwargs: object) -> None:
    from tandem.accounts.services import sync_builtin_roles

    sync_builtin_roles()
