"""`tongban calendar load|show|check`: the holiday table (节假日安排) behind working-day deadlines."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.core.workdays import (
    UnknownCalendarYear,
    published_days,
    published_source_version,
    published_year_range,
)
from tongban.registry.calendar import missing_calendar_years
from tongban.registry.models import CalendarDay, CalendarYear
from tongban.registry.services import calendar_year_load

WEEKDAYS = "一二三四五六日"


class Command(BaseCommand):
    help = (
        "节假日安排 (working-day calendar): `load [--year Y ...]` from chinese-calendar, "
        "`show YEAR`, `check [--horizon-days N]` (exit 1 when a year is missing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load", help="replace years with chinese-calendar's arrangement (default: every year it knows)"
        )
        load.add_argument("--year", type=int, action="append", dest="years", metavar="Y")
        show = sub.add_parser("show", help="list a year's holidays and 调休 working days")
        show.add_argument("year", type=int)
        check = sub.add_parser("check", help="name the years without an arrangement within the horizon")
        check.add_argument("--horizon-days", type=int, default=90, metavar="N")
        check.add_argument(
            "--date", type=datetime.date.fromisoformat, help="check as of this day (default: today)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            self._load(options["years"])
        elif options["action"] == "show":
            self._show(options["year"])
        else:
            self._check(options["date"] or timezone.localdate(), options["horizon_days"])

    def _load(self, years: list[int] | None) -> None:
        first, last = published_year_range()
        # Every year is read before any is written: an unknown one changes nothing.
        try:
            arrangements = {
                year: published_days(year) for year in sorted(set(years or range(first, last + 1)))
            }
        except UnknownCalendarYear as exc:
            raise CommandError(str(exc)) from exc
        source = f"chinese-calendar {published_source_version()}"
        for year, days in arrangements.items():
            result = calendar_year_load(actor=None, year=year, days=days, source=source)
            self.stdout.write(json.dumps(result.__dict__))

    def _show(self, year: int) -> None:
        entered = CalendarYear.objects.filter(year=year).first()
        days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
        if entered is None and not days:
            raise CommandError(
                f"{year} 年节假日安排尚未录入 / no holiday arrangement entered for {year}: "
                "deadlines count weekends only"
            )
        if entered is None:
            self.stdout.write(f"{year} 年（未确认录入完毕：办理期限仍按周末计算并标为暂定）")
        else:
            self.stdout.write(f"{year} 年（来源：{entered.source}）")
        for day in days:
            kind = "上班" if day.is_workday else "放假"
            note = f"  {day.note}" if day.note else ""
            self.stdout.write(f"{day.date:%Y-%m-%d} 周{WEEKDAYS[day.date.weekday()]} {kind} {day.name}{note}")

    def _check(self, today: datetime.date, horizon_days: int) -> None:
        missing = missing_calendar_years(today, horizon_days)
        if missing:
            years = "、".join(str(year) for year in missing)
            raise CommandError(
                f"{years} 年节假日安排尚未录入：涉及该年的办理期限暂按周末计算 / "
                f"no holiday arrangement for {', '.join(map(str, missing))} "
                f"(within {horizon_days} days of {today}): enter it in the admin or `tongban calendar load`"
            )
        until = today + datetime.timedelta(days=horizon_days)
        self.stdout.write(f"至 {until} 的节假日安排均已录入 / calendar covered through {until}")
