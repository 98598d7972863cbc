"""Test helpers for 网上预约: a day the default settings open, and a booking made as a citizen would."""

from __future__ import annotations

import datetime
from typing import Any

from tongban.appointments import rules, services
from tongban.appointments.models import Booking
from tongban.intake import rules as intake_rules
from tongban.registry.calendar import work_calendar
from tongban.registry.models import Person


def open_day(after: int = 0) -> datetime.date:
    """The first working day after today (and `after` more working days on): bookable with the
    default settings whatever the hour now."""
    today = services.local_now().date()
    calendar = work_calendar(today, today + datetime.timedelta(days=60))
    day = calendar.next_workday(today)
    for _ in range(after):
        day = calendar.next_workday(day)
    return day


def pre_application(person: Person, **changes: Any) -> services.PreApplication:
    """A complete 预申请 for `person`: the type and reason the counter would propose."""
    first = changes.get("type", "first") == "first" if person.pk is None else person.cards.count() == 0
    fields: dict[str, Any] = {
        "id_number": person.id_number,
        "name": person.name,
        "type": intake_rules.ApplicationType.FIRST if first else intake_rules.ApplicationType.RENEWAL,
        "reason": intake_rules.age_reason(person.birth_date, open_day()) if first else "21",
        "phone": "13907910001",
        **changes,
    }
    return services.PreApplication(**fields)


def book(
    person: Person,
    *,
    station: str = "360102001",
    date: datetime.date | None = None,
    half: rules.HalfDay = rules.HalfDay.MORNING,
    **changes: Any,
) -> Booking:
    return services.booking_create(
        station_code=station, date=date or open_day(), half=half, pre=pre_application(person, **changes)
    )
