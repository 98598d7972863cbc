from django.db import migrations

import tongban.accounts.models


class Migration(migrations.Migration):
    """The user manager carries the accounts' scope (`User.objects.visible_to`); no table changes."""

    dependencies = [
        ("accounts", "0004_liaison_moved"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", tongban.accounts.models.UserManager()),
            ],
        ),
    ]
