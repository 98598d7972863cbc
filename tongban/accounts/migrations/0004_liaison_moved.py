from django.db import migrations


class Migration(migrations.Migration):
    """The liaison directory became its own app (`tongban.liaison`, migration 0001): the model
    leaves this app's state only, its table `accounts_liaison` and its rows stay where they are."""

    dependencies = [
        ("accounts", "0003_user_activation_staff_sessions"),
        ("liaison", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Liaison")],
            database_operations=[],
        ),
    ]
