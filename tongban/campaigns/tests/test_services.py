"""Campaign services and selectors on a real database: targets and progress against direct
counts, duties, configuration, periodic reports."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.campaigns import rules, selectors, services, tasks
from tongban.campaigns.models import Campaign, CountyTarget, DutyNote, DutyTask, StationReport, StationTarget
from tongban.campaigns.tests.conftest import PHASES, REFERENCE, TODAY, at
from tongban.core.errors import ServiceError
from tongban.handover.models import DistributionRule
from tongban.handover.services import distribution_route
from tongban.intake.models import Application, ReviewChain
from tongban.intake.rules import ApplicationType
from tongban.registry.models import Card, Person, Unit
from tongban.review.services import review_approve
from tongban.testing.concurrency import at_once
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station

Status = Application.Status
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
CUTOFF = datetime.date(2010, 11, 1)  # 16 on the reference date


def _direct_eligible(county: Unit) -> int:
    """The default rule written differently: normal, 16+, and no active second-generation card
    (a person holds at most one active card)."""
    return (
        Person.objects.filter(status="normal", birth_date__lte=CUTOFF, registration_unit__parent=county)
        .exclude(pk__in=Card.objects.filter(state="active", generation=2).values("person"))
        .count()
    )


def test_targets_are_the_registers_counts(campaign, register):
    counties = Unit.objects.filter(kind="county", code__startswith="3601")
    targets = {t.county.code: (t.eligible, t.target) for t in CountyTarget.objects.filter(campaign=campaign)}
    assert set(targets) == set(counties.values_list("code", flat=True))
    for county in counties:
        assert targets[county.code] == (_direct_eligible(county), _direct_eligible(county))
    assert targets["360102"][0] == 3 + 5  # two stations: 2 + 1 and 3 + 2
    assert targets["360104"] == (0, 0)
    assert sum(e for e, _ in targets.values()) == len(register["eligible"])
    for t in StationTarget.objects.filter(campaign=campaign).select_related("station"):
        direct = selectors.eligible_people(campaign).filter(registration_unit=t.station).count()
        assert t.eligible == t.target == direct


def test_entered_target_is_apportioned_and_adds_up(make_campaign):
    campaign = make_campaign(target_entered=1_310_000)
    targets = {
        t.county.code: t for t in CountyTarget.objects.filter(campaign=campaign).select_related("county")
    }
    assert sum(t.target for t in targets.values()) == 1_310_000
    eligible = sum(t.eligible for t in targets.values())  # 8 + 7 + 9 = 24 in the fixture register
    assert eligible == 24
    assert targets["360102"].target == 436_667  # 436,666.67: the largest remainder gets the 1 left
    assert targets["360103"].target == 382_083  # 382,083.33
    assert targets["360121"].target == 491_250  # exactly 9/24
    assert targets["360104"].target == 0
    for county, t in targets.items():
        stations = StationTarget.objects.filter(campaign=campaign, county=t.county)
        assert sum(stations.values_list("target", flat=True)) == t.target, county


def test_expiring_cards_join_the_target_when_asked(make_campaign, register):
    campaign = make_campaign(expiring_before=datetime.date(2027, 3, 1))
    total = sum(CountyTarget.objects.filter(campaign=campaign).values_list("target", flat=True))
    assert total == len(register["eligible"]) + len(register["expiring"])


def test_a_second_open_campaign_of_the_city_is_refused(campaign, make_campaign):
    with pytest.raises(ServiceError) as refused:
        make_campaign()
    assert refused.value.code == "already_open"


def test_phases_must_follow_each_other(make_campaign):
    with pytest.raises(ServiceError) as refused:
        make_campaign(phases={**PHASES, "replace": (datetime.date(2026, 10, 1), datetime.date(2027, 6, 30))})
    assert refused.value.code == "bad_phases" and "replace" in refused.value.fields


def test_only_the_citys_manager_creates(personas, register):
    for user in (personas.nanchang_supervisor, personas.nanchang_clerk):
        with pytest.raises(ServiceError):
            services.campaign_create(
                actor=user,
                area=Unit.objects.get(code="3601"),
                name="x",
                reference_date=REFERENCE,
                phases=PHASES,
            )
    other_city = UserFactory.create(role="campaign_manager", unit=Unit.objects.get(code="3607"))
    with pytest.raises(ServiceError) as refused:
        services.campaign_create(
            actor=other_city,
            area=Unit.objects.get(code="3601"),
            name="x",
            reference_date=REFERENCE,
            phases=PHASES,
        )
    assert refused.value.status == 404


# ---------------------------------------------------------------------------------------------
# Progress


@pytest.fixture
def applications(campaign, register, application):
    """Applications in and out of the campaign: counted ones at three stations, and ones that must
    not count (before 集中换发, withdrawn, a 补领, registered in Ganzhou)."""
    people = register["eligible"]
    made = []
    days = [datetime.date(2026, 11, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17)]
    for i, person in enumerate(people[:18]):
        day = days[i % len(days)]
        if i % 3 == 0:
            made.append(
                application(
                    person,
                    accepted=at(day),
                    status=Status.HANDED_OVER,
                    issued=at(day + datetime.timedelta(days=1)),
                    closed=at(day + datetime.timedelta(days=2)),
                )
            )
        elif i % 3 == 1:
            made.append(application(person, accepted=at(day), status=Status.ISSUED, issued=at(day, 15)))
        else:
            made.append(application(person, accepted=at(day, 23), type="first"))
    # Not counted:
    application(
        people[18],
        accepted=at(datetime.date(2026, 10, 30)),
        status=Status.HANDED_OVER,
        issued=at(datetime.date(2026, 10, 31)),
        closed=at(datetime.date(2026, 11, 3)),
    )
    application(people[19], accepted=at(datetime.date(2026, 11, 5)), status=Status.WITHDRAWN)
    application(people[20], accepted=at(datetime.date(2026, 11, 5)), type="replacement")
    application(register["other"][-1], accepted=at(datetime.date(2026, 11, 5)))  # Ganzhou
    return made


def _direct(county: Unit) -> dict[str, int]:
    counted = Application.objects.filter(
        household_unit__parent=county,
        type__in=["renewal", "first"],
        accepted_at__date__gte=datetime.date(2026, 11, 2),
        accepted_at__date__lte=datetime.date(2027, 8, 31),
    ).exclude(status__in=["withdrawn", "draft"])
    return {
        "accepted": counted.count(),
        "issued": counted.exclude(issued_at=None).count(),
        "handed_over": counted.filter(status__in=["handed_over", "pending_verification", "verified"]).count(),
    }


def test_progress_agrees_with_direct_counts(campaign, applications, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        result = selectors.progress(campaign, today=TODAY)
    assert result.total.accepted == 18
    for row in result.counties:
        county = Unit.objects.get(pk=row.unit_id or 0)
        assert {"accepted": row.accepted, "issued": row.issued, "handed_over": row.handed_over} == _direct(
            county
        )
        assert row.target == CountyTarget.objects.get(campaign=campaign, county=county).target
        stations = result.stations.get(county.pk, [])
        assert sum(s.accepted for s in stations) == row.accepted
        for s in stations:
            assert (
                s.accepted
                == Application.objects.filter(
                    pk__in=[a.pk for a in applications], household_unit_id=s.unit_id
                ).count()
            )
    # Daily and cumulative: the series ends today and adds up.
    assert result.days[0].day == datetime.date(2026, 11, 2) and result.days[-1].day == TODAY
    assert result.days[-1].cum_accepted == 18 == sum(d.accepted for d in result.days)
    assert result.days[-1].cum_handed_over == result.total.handed_over == 6
    nov_4 = next(d for d in result.days if d.day == datetime.date(2026, 11, 4))
    assert (
        nov_4.handed_over
        == Application.objects.filter(
            closed_at__date=datetime.date(2026, 11, 4),
            status="handed_over",
            accepted_at__date__gte=datetime.date(2026, 11, 2),
        ).count()
    )
    # Late at night (23:00 local) still counts for that local day.
    nov_2 = result.days[0]
    assert (
        nov_2.accepted
        == Application.objects.filter(
            pk__in=[a.pk for a in applications], accepted_at__date=datetime.date(2026, 11, 2)
        ).count()
    )


def test_progress_of_a_county_sees_its_own_part(campaign, applications, personas):
    result = selectors.progress(
        campaign, scope=selectors.scope_unit(personas.donghu_supervisor, campaign), today=TODAY
    )
    assert [r.code for r in result.counties] == ["360102"]
    assert result.total.accepted == _direct(Unit.objects.get(code="360102"))["accepted"]


def test_forecast_from_the_pace(campaign, applications, settings):
    settings.CAMPAIGN_PACE_WORKDAYS = 10
    result = selectors.progress(campaign, today=TODAY)
    handed_in_window = (
        Application.objects.filter(
            status="handed_over", closed_at__date__gte=datetime.date(2026, 11, 4), closed_at__date__lt=TODAY
        )
        .exclude(accepted_at__date__lt=datetime.date(2026, 11, 2))
        .count()
    )
    assert result.forecast.pace == pytest.approx(handed_in_window / 10)
    remaining = result.total.target - result.total.handed_over
    assert result.forecast.remaining == remaining
    assert result.forecast.date is not None and result.forecast.date > TODAY


def test_no_pace_no_forecast(campaign):
    result = selectors.progress(campaign, today=TODAY)
    assert result.forecast.label == "近期无发放，无法预测"


# ---------------------------------------------------------------------------------------------
# Duties


def test_duty_matrix_is_seeded_per_department_with_phase_dates(campaign):
    tasks = DutyTask.objects.filter(campaign=campaign)
    counties = Unit.objects.filter(kind="county", code__startswith="3601").count()
    stations = Unit.objects.filter(kind="station", code__startswith="3601").count()
    assert tasks.count() == 3 + 2 + 2 + 5 + 6 * counties + 5 * stations
    finance = tasks.filter(department="finance", code="finance.1").get()
    assert finance.owner_unit is None and finance.owner_name == "南昌市财政局"
    assert finance.due == PHASES["prepare"][1]
    qc = tasks.get(code="county.6", owner_unit__code="360102")
    assert qc.text == "对接收的身份证成品进行质检和分发" and qc.due == PHASES["replace"][1]


def test_late_duties_are_listed_first_and_leave_when_done(campaign, personas):
    late = selectors.late_duties(campaign, TODAY)
    # 准备 ended 2026-10-31: every preparation duty not done is late on 2026-11-18.
    assert late.count() == DutyTask.objects.filter(campaign=campaign, phase="prepare").count()
    task = late.filter(owner_unit__code="360102").get(code="county.2")
    services.duty_update(
        actor=personas.donghu_supervisor, task=task, status="done", note="已完成培训 32 人次"
    )
    assert not selectors.late_duties(campaign, TODAY).filter(pk=task.pk).exists()
    note = DutyNote.objects.get(task=task)
    assert (note.author, note.from_status, note.to_status) == (personas.donghu_supervisor, "todo", "done")
    assert AuditEvent.objects.filter(action="campaign.duty", object_id=str(task.pk)).exists()


def test_duty_update_scope_and_rules(campaign, personas):
    ganzhou_task = DutyTask.objects.get(campaign=campaign, code="county.1", owner_unit__code="360103")
    with pytest.raises(ServiceError) as outside:  # 东湖 supervisor on 西湖's task
        services.duty_update(actor=personas.donghu_supervisor, task=ganzhou_task, note="x")
    assert outside.value.status == 404
    with pytest.raises(ServiceError) as empty:
        services.duty_update(actor=personas.campaign_manager, task=ganzhou_task, note="  ")
    assert empty.value.code == "note_required"
    with pytest.raises(ServiceError):
        services.duty_update(
            actor=personas.nanchang_supervisor, task=ganzhou_task, note="延期", due=datetime.date(2027, 1, 1)
        )
    services.duty_update(
        actor=personas.campaign_manager, task=ganzhou_task, note="延期", due=datetime.date(2027, 1, 1)
    )
    ganzhou_task.refresh_from_db()
    assert ganzhou_task.due == datetime.date(2027, 1, 1)


def test_phase_change_moves_the_duties_due_then(campaign, personas):
    new_end = datetime.date(2026, 10, 25)
    services.campaign_update(
        actor=personas.campaign_manager,
        campaign=campaign,
        phases={**PHASES, "prepare": (PHASES["prepare"][0], new_end)},
    )
    assert set(DutyTask.objects.filter(campaign=campaign, phase="prepare").values_list("due", flat=True)) == {
        new_end
    }


# ---------------------------------------------------------------------------------------------
# Configuration


def test_configuration_creates_and_restores_the_rows(campaign, personas):
    before = ReviewChain.objects.create(name="原南昌流程", region_prefix="3601", note="原有")
    before.steps.create(order=1, level="county", title="审核签发")
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    chain = ReviewChain.objects.get(region_prefix="3601")
    assert [(s.level, s.title) for s in chain.steps.all()] == [
        ("station", "初审"),
        ("county", "审核签发"),
        ("city", "复核"),
    ]
    assert DistributionRule.objects.get(region_prefix="3601").route == "county"
    assert distribution_route(station("360102001")) == "county"
    assert distribution_route(station("360702001")) == "direct"
    services.configuration_update(
        actor=personas.campaign_manager,
        campaign=campaign,
        review_steps=[{"level": "county", "title": "审核签发"}, {"level": "city", "title": "复核"}],
        county_quality_check=False,
    )
    assert ReviewChain.objects.get(region_prefix="3601").steps.count() == 2
    assert distribution_route(station("360102001")) == "direct"
    services.campaign_close(actor=personas.campaign_manager, campaign=campaign)
    restored = ReviewChain.objects.get(region_prefix="3601")
    assert (restored.name, restored.note) == ("原南昌流程", "原有")
    assert [(s.level, s.title) for s in restored.steps.all()] == [("county", "审核签发")]
    assert not DistributionRule.objects.filter(region_prefix="3601").exists()  # there was none
    assert AuditEvent.objects.filter(action="campaign.close", object_id=str(campaign.pk)).exists()
    with pytest.raises(ServiceError) as closed:
        services.configuration_apply(actor=personas.campaign_manager, campaign=campaign)
    assert closed.value.code == "closed"


def test_bad_steps_are_refused(campaign, personas):
    with pytest.raises(ServiceError) as refused:
        services.configuration_update(
            actor=personas.campaign_manager,
            campaign=campaign,
            review_steps=[{"level": "planet", "title": "x"}],
            county_quality_check=True,
        )
    assert refused.value.code == "bad_steps"


def test_an_application_in_the_area_goes_through_the_three_steps(
    campaign, personas, accept, household_reviewer
):
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    county_reviewer = UserFactory.create(role="reviewer", unit=station("360102"))
    city_reviewer = UserFactory.create(role="reviewer", unit=station("3601"))
    person = PersonFactory.create(birth_date=datetime.date(1970, 3, 3))
    CardFactory.create(
        person=person,
        generation=1,
        valid_from=datetime.date(1990, 1, 1),
        valid_until=datetime.date(2010, 1, 1),
    )
    application = accept(
        personas.nanchang_clerk, person, application_type=ApplicationType.RENEWAL, reason="21"
    )
    assert [(s["level"], s["title"]) for s in application.review_chain] == [
        ("station", "初审"),
        ("county", "审核签发"),
        ("city", "复核"),
    ]
    assert application.review_unit is not None and application.review_unit.code == "360102001"
    application = review_approve(actor=household_reviewer, application=application, step=1)
    assert (
        application.review_unit is not None
        and application.review_unit.code == "360102"
        and application.status == Status.PENDING_REVIEW
    )
    application = review_approve(actor=county_reviewer, application=application, step=2)
    assert application.review_unit is not None and application.review_unit.code == "3601"
    application = review_approve(actor=city_reviewer, application=application, step=3)
    assert application.status == Status.ISSUED


# ---------------------------------------------------------------------------------------------
# Periodic reports


WEEK = rules.parse_period("2026-W46")  # 2026-11-09 … 2026-11-15


@pytest.fixture
def generated(campaign, applications, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    return services.reports_generate(actor=None, campaign=campaign, period=WEEK)


def test_reports_are_generated_from_the_data(campaign, generated):
    stations = Unit.objects.filter(kind="station", code__startswith="3601")
    assert len(generated) == stations.count()
    report = next(r for r in generated if r.station.code == "360102001")
    start, end = WEEK.start, WEEK.end
    mine = Application.objects.filter(
        household_unit=report.station,
        type__in=["renewal", "first"],
        accepted_at__date__gte=datetime.date(2026, 11, 2),
    ).exclude(status="withdrawn")
    assert report.figures == {
        "target": StationTarget.objects.get(campaign=campaign, station=report.station).target,
        "accepted": mine.filter(accepted_at__date__range=(start, end)).count(),
        "issued": mine.filter(issued_at__date__range=(start, end)).count(),
        "handed_over": mine.filter(status="handed_over", closed_at__date__range=(start, end)).count(),
        "cum_accepted": mine.filter(accepted_at__date__lte=end).count(),
        "cum_issued": mine.filter(issued_at__date__lte=end).count(),
        "cum_handed_over": mine.filter(status="handed_over", closed_at__date__lte=end).count(),
    }
    assert (report.figures["accepted"], report.figures["cum_accepted"]) == (0, 3)  # all in the week before
    busy = next(r for r in generated if r.station.code == "360102002")
    assert busy.figures["accepted"] > 0


def test_sign_off_freezes_and_is_refused_twice_or_by_another_station(
    campaign, generated, personas, application, register
):
    report = next(r for r in generated if r.station.code == "360102001")
    other_station_clerk = UserFactory.create(role="clerk", unit=station("360102002"))
    with pytest.raises(ServiceError) as wrong:
        services.report_sign(actor=other_station_clerk, report=report)
    assert wrong.value.status == 404
    with pytest.raises(ServiceError):
        services.report_sign(actor=personas.campaign_manager, report=report)
    signed = services.report_sign(actor=personas.nanchang_clerk, report=report)
    assert signed.signed_by == personas.nanchang_clerk and signed.signed_at is not None
    with pytest.raises(ServiceError) as twice:
        services.report_sign(actor=personas.nanchang_clerk, report=report)
    assert twice.value.code == "already_signed" and twice.value.status == 409
    frozen = dict(signed.figures)
    # New data for the week, then the job runs again: the signed report keeps its figures.
    application(register["eligible"][0], accepted=at(datetime.date(2026, 11, 10)))
    services.reports_generate(actor=None, campaign=campaign, period=WEEK)
    signed.refresh_from_db()
    assert signed.figures == frozen
    unsigned = StationReport.objects.get(campaign=campaign, period=WEEK.label, station__code="360102002")
    assert unsigned.signed_at is None


def test_rollup_sums_signed_reports_and_lists_missing_stations(campaign, generated, personas):
    report = next(r for r in generated if r.station.code == "360102001")
    services.report_sign(actor=personas.nanchang_clerk, report=report)
    result = selectors.rollup(personas.campaign_manager, campaign, WEEK)
    donghu = next(r for r in result.counties if r.unit.code == "360102")
    assert (donghu.stations, donghu.signed) == (2, 1)
    assert donghu.figures == report.figures
    assert [s.code for s in donghu.missing] == ["360102002"]
    assert result.total.signed == 1
    assert (
        len(result.total.missing) == Unit.objects.filter(kind="station", code__startswith="3601").count() - 1
    )
    county_view = selectors.rollup(personas.donghu_supervisor, campaign, WEEK)
    assert [r.unit.code for r in county_view.counties] == ["360102"]


def test_a_station_may_generate_only_its_own(campaign, personas):
    with pytest.raises(ServiceError):
        services.reports_generate(actor=personas.nanchang_clerk, campaign=campaign, period=WEEK)
    own = services.reports_generate(
        actor=personas.nanchang_clerk, campaign=campaign, period=WEEK, stations=[station("360102001")]
    )
    assert len(own) == 1
    with pytest.raises(ServiceError) as early:
        services.reports_generate(actor=None, campaign=campaign, period=rules.parse_period("2026-W40"))
    assert early.value.code == "before_campaign"


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_sign_offs_at_once_give_one_outcome(reference_data):
    from tongban.testing.personas import make_personas

    personas = make_personas()
    campaign = services.campaign_create(
        actor=personas.campaign_manager,
        area=Unit.objects.get(code="3601"),
        name="并发",
        reference_date=REFERENCE,
        phases={
            **PHASES,
            "replace": (datetime.date(2026, 1, 5), datetime.date(2027, 6, 30)),
            "prepare": (datetime.date(2025, 12, 1), datetime.date(2026, 1, 4)),
        },
    )
    (report,) = services.reports_generate(
        actor=None, campaign=campaign, period=rules.parse_period("2026-W10"), stations=[station("360102001")]
    )
    clerks = [personas.nanchang_clerk, UserFactory.create(role="clerk", unit=station("360102001"))]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def sign(k: int) -> None:
        try:
            barrier.wait()
            services.report_sign(actor=clerks[k], report=report)
            outcomes.append("signed")
        except ServiceError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_signed", "signed"]
    report.refresh_from_db()
    assert report.signed_by in clerks


def test_the_schedule_makes_last_weeks_reports_once(campaign, personas):
    stations = campaign.station_targets.count()
    assert services.reports_generate_due(today=TODAY) == 0  # not started yet
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    # A station made and signed its report of the week already: left as it is.
    (own,) = services.reports_generate(
        actor=personas.nanchang_clerk, campaign=campaign, period=WEEK, stations=[station("360102001")]
    )
    own = services.report_sign(actor=personas.nanchang_clerk, report=own)
    assert services.reports_generate_due(today=TODAY) == stations - 1  # Wednesday: the week before
    reports = StationReport.objects.filter(campaign=campaign, period=WEEK.label)
    assert reports.count() == stations and reports.filter(generated_by=None).count() == stations - 1
    audit_rows = AuditEvent.objects.count()
    assert services.reports_generate_due(today=TODAY) == 0  # again: nothing made, nothing refreshed
    assert AuditEvent.objects.count() == audit_rows
    assert StationReport.objects.get(pk=own.pk).generated_at == own.generated_at
    # The week before 集中换发 began (2026-11-02) has no reports.
    assert services.reports_generate_due(today=datetime.date(2026, 11, 4)) == 0


def test_the_schedule_calls_the_service(campaign, personas):
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    tasks.campaign_reports()
    period = rules.previous_week(timezone.localdate())
    made = StationReport.objects.filter(campaign=campaign, period=period.label)
    assert made.count() == campaign.station_targets.count()


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_schedules_at_once_make_each_report_once(reference_data):
    from tongban.testing.personas import make_personas

    personas = make_personas()
    campaign = services.campaign_create(
        actor=personas.campaign_manager,
        area=Unit.objects.get(code="3601"),
        name="并发",
        reference_date=REFERENCE,
        phases={
            **PHASES,
            "replace": (datetime.date(2026, 1, 5), datetime.date(2027, 6, 30)),
            "prepare": (datetime.date(2025, 12, 1), datetime.date(2026, 1, 4)),
        },
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)  # staffing aside
    made, errors = at_once(lambda: services.reports_generate_due(today=datetime.date(2026, 3, 11)))
    stations = Unit.objects.filter(kind="station", code__startswith="3601", active=True).count()
    assert errors == [] and sorted(made) == [0, stations]
    assert StationReport.objects.filter(campaign=campaign, period="2026-W10").count() == stations


def test_campaign_visibility(campaign, personas):
    for name in (
        "campaign_manager",
        "nanchang_supervisor",
        "donghu_supervisor",
        "nanchang_clerk",
        "province_supervisor",
    ):
        assert Campaign.objects.visible_to(getattr(personas, name)).filter(pk=campaign.pk).exists(), name
    for name in ("ganzhou_clerk", "finance", "auditor", "centre_operator", "nanchang_reviewer"):
        assert not Campaign.objects.visible_to(getattr(personas, name)).exists(), name
