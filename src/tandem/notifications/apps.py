from tandem.core.apps import TandemAppConfig


class NotificationsConfig(TandemAppConfig):
    name = "tandem.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    api_routers = ("tandem.notifications.api.router",)
    url_modules = ("tandem.notifications.urls",)
    schedule = (
        (
            "requeue-webhook-deliveries",
            300,
            "tandem.notifications.tasks.requeue_webhook_deliveries_task",
        ),
    )
    permissions = ("notifications.manage_webhook",)
    role_permissions = {"tenant-owner": ("notifications.manage_webhook",)}
    isolation_expectations = ("tests.isolation.expect_notifications",)
    test_world = ("tandem.notifications.tests.world.build_notifications_world",)
