import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('responsibility', '0001_initial'),
        ('servicedesk', '0021_desk_settings_for_every_tenant'),
    ]

    # The responsibility matrix (rows, versions, coverage) is the responsibility app's now
    # (its 0001): state only. The tables stay as they are, and so does the ticket's column
    # and foreign key ``routing_row_id``: no table is rewritten (decision 0024).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='ticket',
                    name='routing_row',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='responsibility.responsibilityrow'),
                ),
                migrations.DeleteModel(name='Coverage'),
                migrations.DeleteModel(name='MatrixVersion'),
                migrations.DeleteModel(name='ResponsibilityRow'),
            ],
            database_operations=[],
        ),
    ]
