"""The settlement rate of free first cards: from 2018-04-01, 17 yuan each (13 central + 4 provincial)."""

import datetime
from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    SettlementRate = apps.get_model("finance", "SettlementRate")
    SettlementRate.objects.get_or_create(
        effective_from=datetime.date(2018, 4, 1),
        defaults={"amount": Decimal("17"), "central": Decimal("13"), "provincial": Decimal("4")},
    )


def unseed(apps, schema_editor):
    apps.get_model("finance", "SettlementRate").objects.filter(
        effective_from=datetime.date(2018, 4, 1)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("finance", "0002_remittance_settlement")]

    operations = [migrations.RunPython(seed, unseed)]
