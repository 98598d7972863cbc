"""`tongban campaigns reports [--period 2026-W45] [--campaign ID]`: generate the stations'
periodic reports (定期上报) of every running campaign from the data; meant for a weekly
scheduled job (Mondays, for the week before). Signed reports are left as they are."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.campaigns import rules, services
from tongban.campaigns.models import Campaign
from tongban.core.errors import ServiceError


class Command(BaseCommand):
    help = "集中换发：生成各派出所定期上报报表 / generate campaign station reports"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reports = sub.add_parser("reports", help="generate the periodic reports")
        reports.add_argument("--period", help="2026-W45 (ISO week) or 2026-11 (month); default: last week")
        reports.add_argument("--campaign", type=int, help="only this campaign (default: every running one)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = (
                rules.parse_period(options["period"])
                if options.get("period")
                else rules.previous_week(timezone.localdate())
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE).select_related("area")
        if options.get("campaign"):
            campaigns = Campaign.objects.filter(pk=options["campaign"]).select_related("area")
            if not campaigns:
                raise CommandError(f"no campaign {options['campaign']}")
        for campaign in campaigns:
            try:
                made = services.reports_generate(actor=None, campaign=campaign, period=period)
            except ServiceError as error:
                self.stderr.write(f"{campaign.pk} {campaign.name}: {error.message}")
                continue
            signed = sum(1 for r in made if r.signed)
            self.stdout.write(
                f"{campaign.pk} {campaign.name} {period.label}: {len(made)} reports ({signed} signed, frozen)"
            )
