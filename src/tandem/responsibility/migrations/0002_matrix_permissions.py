from django.db import migrations

#: The desk's permissions that read and changed the matrix, and the app's own now. The
#: desk keeps its codenames for its configuration (calendars, SLA policies, categories,
#: mail), so every role that held one gains the matrix's, and keeps the desk's.
RENAMED = {
    "servicedesk.view_matrix": "responsibility.view_matrix",
    "servicedesk.change_matrix": "responsibility.change_matrix",
}


def grant_matrix_permissions(apps, schema_editor):
    # Every role, built-in or made by a tenant or provider: the built-in ones are synced
    # after migrate anyway, custom roles only here.
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.all().only("pk", "permissions"):
        held = list(role.permissions or [])
        added = [new for old, new in RENAMED.items() if old in held and new not in held]
        if added:
            role.permissions = held + added
            role.save(update_fields=["permissions"])


def take_them_back(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    new = set(RENAMED.values())
    for role in Role.objects.all().only("pk", "permissions"):
        held = list(role.permissions or [])
        if new & set(held):
            role.permissions = [p for p in held if p not in new]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):

    dependencies = [
        ('responsibility', '0001_initial'),
        ('accounts', '0003_accessversion'),
    ]

    operations = [migrations.RunPython(grant_matrix_permissions, take_them_back)]
