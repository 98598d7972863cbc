from __future__ import annotations

import datetime
import logging
import re
import zoneinfo
from dataclasses import replace

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from tongban.audit.models import AuditEvent
from tongban.core.workdays import published_year_range
from tongban.registry.calendar import (
    Deadline,
    deadline,
    missing_calendar_years,
    post_verification_deadline,
    review_deadline,
    work_calendar,
    workdays_until,
)
from tongban.registry.models import CalendarDay, CalendarYear
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db

D = datetime.date
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_, LAST_PUBLISHED = published_year_range()
UNKNOWN_YEAR = LAST_PUBLISHED + 1


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def no_2027() -> None:
    """Whatever chinese-calendar version seeded the table, 2027 has not been entered."""
    CalendarDay.objects.filter(date__year=2027).delete()
    CalendarYear.objects.filter(year=2027).delete()


def test_migrations_seed_the_published_years() -> None:
    assert set(CalendarYear.objects.values_list("year", flat=True)) >= set(range(2004, 2027))
    assert CalendarYear.objects.get(year=2026).source.startswith("chinese-calendar ")
    national_day = CalendarDay.objects.filter(date__range=(D(2026, 10, 1), D(2026, 10, 7)))
    assert {(day.is_workday, day.name) for day in national_day} == {(False, "国庆节")}
    assert national_day.count() == 7
    assert CalendarDay.objects.get(date=D(2026, 10, 10)).name == "国庆节调休上班"
    assert CalendarDay.objects.get(date=D(2026, 2, 17)).name == "春节"


def test_review_deadline_across_national_day(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    # Arrived on Wednesday 30 September: Oct 8, 9, 10 (a 调休 Saturday), 12, 13.
    with django_assert_num_queries(2):  # covered years, the span's days
        result = review_deadline(at(D(2026, 9, 30)))
    assert result == Deadline(due=D(2026, 10, 13), provisional=False, missing_years=())


def test_arrival_is_taken_in_local_time() -> None:
    # 17:00 UTC on 29 September is 01:00 on the 30th in China.
    utc_evening = datetime.datetime(2026, 9, 29, 17, tzinfo=datetime.UTC)
    assert review_deadline(utc_evening).due == D(2026, 10, 13)
    with pytest.raises(ValueError):
        review_deadline(datetime.datetime(2026, 9, 30, 10))  # noqa: DTZ001 - naive on purpose


def test_arrival_on_a_friday_and_on_a_make_up_saturday() -> None:
    assert review_deadline(at(D(2026, 10, 16))).due == D(2026, 10, 23)  # Fri → next Fri
    assert review_deadline(at(D(2026, 9, 25))).due == D(2026, 10, 9)  # 中秋 on a Friday, then 国庆
    # Saturday 10 October is a working day: counting starts on Monday either way, and with the
    # arrival day counted the Saturday itself is the first day.
    assert review_deadline(at(D(2026, 10, 10))).due == D(2026, 10, 16)
    assert deadline(at(D(2026, 10, 10)), 5, count_arrival_day=True).due == D(2026, 10, 15)


def test_count_arrival_day_setting() -> None:
    arrival = at(D(2026, 10, 12))  # a Monday
    assert review_deadline(arrival).due == D(2026, 10, 19)
    with override_settings(DEADLINES=replace(settings.DEADLINES, review_days=5, count_arrival_day=True)):
        assert review_deadline(arrival).due == D(2026, 10, 16)
        assert review_deadline(at(D(2026, 10, 11))).due == D(2026, 10, 16)  # a Sunday does not count
    with override_settings(DEADLINES=replace(settings.DEADLINES, review_days=3, count_arrival_day=False)):
        assert review_deadline(arrival).due == D(2026, 10, 15)


def test_post_verification_deadline_across_spring_festival() -> None:
    # From Monday 2 February 2026: 30 working days with 春节 (15–23 Feb) and two 调休 Saturdays.
    result = post_verification_deadline(at(D(2026, 2, 2)))
    assert result == Deadline(due=D(2026, 3, 20), provisional=False, missing_years=())


def test_deadline_into_an_unentered_year_is_provisional_and_warns(
    no_2027: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tongban.calendar"):
        result = review_deadline(at(D(2026, 12, 29)))
    # Dec 30, 31, then 2027 by weekends only: Fri Jan 1 counts.
    assert result == Deadline(due=D(2027, 1, 5), provisional=True, missing_years=(2027,))
    assert [record.name for record in caplog.records] == ["tongban.calendar"]
    assert "2027" in caplog.records[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tongban.calendar"):
        assert not review_deadline(at(D(2026, 12, 1))).provisional
    assert caplog.records == []


def test_entering_2027_makes_deadlines_final(no_2027: None, caplog: pytest.LogCaptureFixture) -> None:
    CalendarDay.objects.create(date=D(2027, 1, 1), is_workday=False, name="元旦")
    CalendarDay.objects.create(date=D(2027, 1, 4), is_workday=False, name="元旦", note="假设")
    CalendarYear.objects.create(year=2027, source="管理员录入")
    with caplog.at_level(logging.WARNING, logger="tongban.calendar"):
        result = review_deadline(at(D(2026, 12, 29)))
    assert result == Deadline(due=D(2027, 1, 7), provisional=False, missing_years=())
    assert caplog.records == []


def test_days_entered_before_the_year_is_confirmed_already_count(no_2027: None) -> None:
    CalendarDay.objects.create(date=D(2027, 1, 1), is_workday=False, name="元旦")
    assert review_deadline(at(D(2026, 12, 29))) == Deadline(
        due=D(2027, 1, 6), provisional=True, missing_years=(2027,)
    )


def test_workdays_until_classifies_the_queue() -> None:
    due = D(2026, 10, 9)  # Friday after National Day
    assert workdays_until(due, due) == 0  # due today
    assert workdays_until(D(2026, 10, 8), due) == 1  # at risk
    assert workdays_until(D(2026, 9, 30), due) == 2
    assert workdays_until(D(2026, 10, 10), due) == -1  # overdue on the 调休 Saturday
    calendar = work_calendar(D(2026, 9, 1), D(2026, 11, 30))
    assert calendar.workdays_until(D(2026, 10, 12), due) == -2


def test_missing_calendar_years(no_2027: None) -> None:
    assert missing_calendar_years(D(2026, 6, 1)) == []
    assert missing_calendar_years(D(2026, 11, 22)) == [2027]
    assert missing_calendar_years(D(2026, 11, 22), horizon_days=30) == []
    CalendarYear.objects.create(year=2027)
    CalendarYear.objects.filter(year=2028).delete()
    assert missing_calendar_years(D(2026, 11, 22)) == []
    assert missing_calendar_years(D(2027, 12, 1)) == [2028]


# -- tongban calendar ---------------------------------------------------------------------------


def test_command_load_is_idempotent_and_audited(capsys: pytest.CaptureFixture[str]) -> None:
    CalendarDay.objects.filter(date=D(2026, 10, 10)).delete()
    call_command("calendar", "load", "--year", "2026", "--year", "2025")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == '{"year": 2025, "holidays": 28, "workdays": 5, "changed": false}'
    assert '"year": 2026' in lines[1] and '"changed": true' in lines[1]
    assert CalendarDay.objects.get(date=D(2026, 10, 10)).is_workday
    event = AuditEvent.objects.get(action="calendar.load_year")
    assert (event.object_type, event.object_id, event.actor_id) == ("registry.calendaryear", "2026", None)
    call_command("calendar", "load", "--year", "2026")
    assert '"changed": false' in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="calendar.load_year").count() == 1


def test_command_load_replaces_admin_edits_of_that_year_only() -> None:
    CalendarDay.objects.create(date=D(2026, 3, 2), is_workday=False, name="误录")
    CalendarYear.objects.filter(year=2026).update(source="管理员录入")
    call_command("calendar", "load", "--year", "2026")
    assert not CalendarDay.objects.filter(date=D(2026, 3, 2)).exists()
    assert CalendarYear.objects.get(year=2026).source.startswith("chinese-calendar")
    assert CalendarDay.objects.filter(date__year=2025).count() == 33


def test_command_load_of_an_unknown_year_changes_nothing() -> None:
    CalendarDay.objects.create(date=D(2026, 3, 2), is_workday=False, name="误录")
    before = CalendarDay.objects.count()
    with pytest.raises(CommandError, match=f"没有 {UNKNOWN_YEAR} 年的节假日安排") as caught:
        call_command("calendar", "load", "--year", "2026", "--year", str(UNKNOWN_YEAR))
    assert f"no published holiday arrangement for {UNKNOWN_YEAR}" in str(caught.value)
    assert CalendarDay.objects.count() == before
    assert CalendarDay.objects.filter(date=D(2026, 3, 2)).exists()
    assert not AuditEvent.objects.filter(action="calendar.load_year").exists()


def test_command_show(capsys: pytest.CaptureFixture[str], no_2027: None) -> None:
    call_command("calendar", "show", "2026")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2026 年（来源：chinese-calendar ")
    assert "2026-10-01 周四 放假 国庆节" in out
    assert "2026-10-10 周六 上班 国庆节调休上班" in out
    with pytest.raises(CommandError, match="2027 年节假日安排尚未录入"):
        call_command("calendar", "show", "2027")


def test_command_check(capsys: pytest.CaptureFixture[str], no_2027: None) -> None:
    call_command("calendar", "check", "--date", "2026-06-01")
    assert "calendar covered" in capsys.readouterr().out
    with pytest.raises(CommandError, match="2027 年节假日安排尚未录入") as caught:
        call_command("calendar", "check", "--date", "2026-11-22")
    assert caught.value.returncode == 1
    call_command("calendar", "check", "--date", "2026-11-22", "--horizon-days", "30")


# -- administrators ------------------------------------------------------------------------------


def _leave_this_year_unentered() -> int:
    year = timezone.localdate().year
    CalendarYear.objects.filter(year=year).delete()
    return year


def test_admin_home_page_warns_about_a_missing_year(client: Client, personas: Personas) -> None:
    year = _leave_this_year_unentered()
    login(client, personas.admin)
    page = client.get("/").content.decode()
    alert = re.search(r'<div class="alert" role="alert">(.*?)</div>', page)
    assert alert is not None
    # Late in the year the next one may be missing too: "2026、2027 年节假日安排尚未录入…"
    assert str(year) in alert.group(1).split(" 年")[0]
    assert "年节假日安排尚未录入：涉及该年的办理期限暂按周末计算，请在" in alert.group(1)
    assert 'href="/admin/registry/calendarday/"' in page


def test_clerk_home_page_has_no_calendar_warning(client: Client, personas: Personas) -> None:
    _leave_this_year_unentered()
    login(client, personas.nanchang_clerk)
    page = client.get("/").content.decode()
    assert "节假日安排尚未录入" not in page


def test_no_warning_once_the_years_are_entered(client: Client, personas: Personas) -> None:
    today = timezone.localdate()
    for year in range(today.year, today.year + 2):
        CalendarYear.objects.get_or_create(year=year)
    login(client, personas.admin)
    assert "节假日安排尚未录入" not in client.get("/").content.decode()


@pytest.mark.parametrize("url", ["/admin/registry/calendarday/", "/admin/registry/calendaryear/"])
def test_calendar_admin_is_open_to_the_reference_role_only(
    client: Client, personas: Personas, url: str
) -> None:
    for name, user in personas.all().items():
        client.logout()
        user.is_staff = True  # staff status opens nothing without the role
        user.save()
        login(client, user)
        expected = 200 if name == "admin" else 403
        assert client.get(url).status_code == expected, name


def test_admin_filters_days_by_year_and_audits_changes(client: Client, personas: Personas) -> None:
    login(client, personas.admin)
    response = client.get("/admin/registry/calendarday/", {"year": "2026"})
    assert "国庆节调休上班" in response.content.decode()
    assert {day.date.year for day in response.context["cl"].queryset} == {2026}
    assert "2004 年" in response.content.decode()  # the filter offers every year in the table
    response = client.post(
        "/admin/registry/calendarday/add/",
        {"date": "2027-01-01", "name": "元旦", "note": "国办发明电〔2026〕"},
    )
    assert response.status_code == 302
    day = CalendarDay.objects.get(date=D(2027, 1, 1))
    event = AuditEvent.objects.get(action="admin.create")
    assert (event.object_type, event.object_id) == ("registry.calendarday", str(day.pk))
    response = client.post(
        "/admin/registry/calendarday/",
        {"action": "delete_selected", "_selected_action": [day.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not CalendarDay.objects.filter(pk=day.pk).exists()
    assert AuditEvent.objects.filter(action="admin.delete", object_id=str(day.pk)).exists()
