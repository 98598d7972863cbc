"""`tongban campaigns reports [--period 2026-W45] [--campaign ID]`: generate (or refresh) the
stations' periodic reports (定期上报) of every running campaign from the data. Signed reports are
left as they are. The worker's schedule makes last week's itself (services.reports_generate_due).

`tongban campaigns summary ID [--format pdf|xlsx] [--output FILE]`: write a campaign's 工作总结
(the whole city) with the service the 工作总结 job of its page runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.campaigns import rules, services
from tongban.campaigns.models import Campaign
from tongban.core.errors import ServiceError


class Command(BaseCommand):
    help = "集中换发：生成各派出所定期上报报表；输出工作总结 / campaign station reports; a campaign's summary"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reports = sub.add_parser("reports", help="generate the periodic reports")
        reports.add_argument("--period", help="2026-W45 (ISO week) or 2026-11 (month); default: last week")
        reports.add_argument("--campaign", type=int, help="only this campaign (default: every running one)")
        summary = sub.add_parser("summary", help="write a campaign's 工作总结 (the whole city) to a file")
        summary.add_argument("campaign", type=int, help="the campaign's id")
        summary.add_argument("--format", choices=sorted(services.SUMMARY_FORMATS), default="pdf")
        summary.add_argument(
            "--output", type=Path, help="the file (default: <name>-工作总结-<date>.<format> here)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "summary":
            self._summary(options)
        else:
            self._reports(options)

    def _summary(self, options: dict[str, Any]) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign"]).select_related("area").first()
        if campaign is None:
            raise CommandError(f"no campaign {options['campaign']}")
        today = timezone.localdate()
        fmt = options["format"]
        target = options["output"] or Path(services.summary_name(campaign, fmt, today))
        services.summary_write(campaign=campaign, scope=campaign.area, fmt=fmt, target=target, today=today)
        self.stdout.write(str(target))

    def _reports(self, options: dict[str, Any]) -> None:
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
