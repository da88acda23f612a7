import uuid

from django.db import migrations

# The defaults as they stand at this migration (servicedesk.choices.DEFAULT_STATUSES and
# DEFAULT_PRIORITY_MATRIX); a migration never imports app code, whose defaults may change.
STATUSES = [
    ["new", "New", "new"],
    ["assigned", "Assigned", "open"],
    ["in-progress", "In progress", "open"],
    ["waiting-requester", "Waiting on requester", "waiting"],
    ["waiting-third-party", "Waiting on third party", "waiting"],
    ["resolved", "Resolved", "resolved"],
    ["closed", "Closed", "closed"],
    ["reopened", "Reopened", "open"],
]
PRIORITY_MATRIX = {
    "impacts": ["high", "medium", "low"],
    "urgencies": ["high", "medium", "low"],
    "priorities": ["P1", "P2", "P3", "P4", "P5"],
    "grid": [["P1", "P2", "P3"], ["P2", "P3", "P4"], ["P3", "P4", "P5"]],
}


def settings_for_every_tenant(apps, schema_editor):
    """Every tenant without a desk settings row gets one with the defaults, as a new tenant
    now does when it is created (until now the row was made on first read, a GET page
    among the readers). Two queries and one bulk insert, however many tenants."""
    Tenant = apps.get_model("tenancy", "Tenant")
    DeskSettings = apps.get_model("servicedesk", "DeskSettings")
    # The historical models' managers are plain ones: no scope applies inside migrations.
    have = set(DeskSettings._base_manager.values_list("tenant_id", flat=True))
    DeskSettings._base_manager.bulk_create(
        [
            DeskSettings(
                tenant_id=tenant_id,
                priority_matrix=PRIORITY_MATRIX,
                statuses=STATUSES,
                config_token=uuid.uuid4(),
            )
            for tenant_id in Tenant._base_manager.values_list("pk", flat=True)
            if tenant_id not in have
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("servicedesk", "0020_sla_alert_from_notifications"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(settings_for_every_tenant, migrations.RunPython.noop),
    ]
