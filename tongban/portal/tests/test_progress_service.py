"""办理进度查询, the service on the database: what each state answers, the expected dates, the
limits per address and per 受理号, and the audit row of every lookup."""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongban.accounts.models import RateCount
from tongban.audit.models import AuditEvent
from tongban.handover.models import Verification
from tongban.intake.models import Application
from tongban.portal.progress.rules import Stage
from tongban.portal.progress.services import Outcome, progress_lookup
from tongban.portal.tests.progress_fixtures import a_number, application, posted
from tongban.registry.calendar import day_start, deadline
from tongban.registry.models import CalendarYear, RefusalReason, Unit

pytestmark = pytest.mark.django_db
Status = Application.Status
ADDRESS = "203.0.113.7"


def lookup(
    app: Application | None = None,
    *,
    number: str = "",
    suffix: str = "",
    name: str = "",
    address: str = ADDRESS,
) -> Any:
    if app is not None and not (suffix or name):
        suffix = app.id_number[-6:]
    return progress_lookup(
        number=number or (app.number or "" if app else ""), id_suffix=suffix, name=name, address=address
    )


def audit_rows() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith="progress.").order_by("pk"))


def test_the_right_digits_or_the_right_name_find_it() -> None:
    app = application(Status.PENDING_REVIEW)
    by_digits = lookup(app)
    by_name = lookup(app, name=" 刘晓燕 ")
    for found in (by_digits, by_name):
        assert found.outcome is Outcome.FOUND
        assert found.progress.stage is Stage.IN_REVIEW and found.progress.number == app.number


def test_the_answer_names_nothing_of_the_person() -> None:
    app = application(Status.AT_SITE, residence_address="南昌市东湖区某路1号", phone="13800138000")
    progress = lookup(app).progress
    text = repr(dataclasses.asdict(progress))
    for personal in (
        app.name,
        app.id_number,
        app.id_number[-6:],
        app.household_address,
        app.phone,
        "南昌市东湖区某路1号",
    ):
        assert personal not in text


def test_unknown_numbers_and_wrong_proofs_answer_alike() -> None:
    app = application(Status.PENDING_REVIEW)
    wrong = "000000" if not app.id_number.endswith("000000") else "111111"
    answers = [
        lookup(number=a_number(), suffix=app.id_number[-6:]),  # a number nobody was given
        lookup(app, suffix=wrong),
        lookup(app, name="刘晓"),
    ]
    assert {answer.outcome for answer in answers} == {Outcome.NOT_FOUND}
    assert all(answer.progress is None and answer.retry_at is None for answer in answers)
    assert [row.action for row in audit_rows()] == ["progress.not_found"] * 3


def test_an_unknown_number_and_a_wrong_proof_take_the_same_queries() -> None:
    """The same work, so that the time of the answer does not tell which part was wrong."""
    app = application(Status.PENDING_REVIEW)

    def queries(**kwargs: Any) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert lookup(**kwargs).outcome is Outcome.NOT_FOUND
        # The same statements, whatever the values (each a first knock of its address and number).
        return [re.sub(r"'[^']*'|\d+", "?", query["sql"]) for query in captured.captured_queries]

    unknown = queries(number=a_number(), suffix="123456", address="192.0.2.1")
    other = "123456" if not app.id_number.endswith("123456") else "654321"
    wrong = queries(app=app, suffix=other, address="192.0.2.2")
    assert unknown == wrong


def test_a_draft_is_not_found_even_with_a_number() -> None:
    draft = application(Status.DRAFT)
    assert lookup(draft).outcome is Outcome.NOT_FOUND


def test_a_withdrawn_application_says_so() -> None:
    progress = lookup(application(Status.WITHDRAWN)).progress
    assert progress.stage is Stage.WITHDRAWN and progress.stage_label == "已撤回"
    assert progress.expected_ready is None and progress.expected_issue is None and progress.track == ()


def test_in_review_has_the_deadline_and_the_collection_date() -> None:
    accepted = timezone.now()
    due = deadline(accepted, 5)
    app = application(
        Status.PENDING_REVIEW,
        accepted_at=accepted,
        review_due=due.due,
        review_due_provisional=due.provisional,
        review_chain=[{"level": "station", "title": "审核签发", "unit": 1}],
        review_step=1,
    )
    progress = lookup(app).progress
    assert progress.expected_issue is not None and progress.expected_issue.date == due.due
    assert progress.expected_issue.provisional == due.provisional
    ready = deadline(accepted, 20)
    assert progress.expected_ready is not None
    assert (progress.expected_ready.date, progress.expected_ready.provisional) == (
        ready.due,
        ready.provisional,
    )
    assert progress.ready_label == "预计领证日期" and progress.accepted_on == timezone.localdate(accepted)


def test_a_chain_of_steps_adds_the_steps_still_ahead(settings: Any) -> None:
    today = timezone.localdate()
    app = application(
        Status.PENDING_REVIEW,
        review_due=today + datetime.timedelta(days=3),
        review_chain=[{"unit": 1}, {"unit": 2}, {"unit": 3}],
        review_step=1,
    )
    assert app.review_due is not None
    expected = deadline(
        day_start(app.review_due), 2 * settings.DEADLINES.review_days, count_arrival_day=False
    )
    assert lookup(app).progress.expected_issue.date == expected.due


def test_a_date_over_a_year_without_a_holiday_table_is_provisional() -> None:
    accepted = timezone.now()
    app = application(Status.ISSUED, accepted_at=accepted)
    ready = deadline(accepted, 20)
    CalendarYear.objects.filter(year=ready.due.year).delete()
    progress = lookup(app).progress
    assert progress.expected_ready is not None and progress.expected_ready.provisional
    assert progress.expected_ready.text.endswith("（暂估）")


def test_a_collection_date_already_passed_is_not_promised_again() -> None:
    app = application(Status.IN_PRODUCTION, accepted_at=timezone.now() - datetime.timedelta(days=90))
    progress = lookup(app).progress
    assert progress.stage is Stage.IN_PRODUCTION and progress.expected_ready is None
    assert any("以受理单位的通知为准" in note for note in progress.notes)


def test_waiting_at_the_station_names_it_with_address_and_phone() -> None:
    station = Unit.objects.get(code="360102001")
    Unit.objects.filter(pk=station.pk).update(address="南昌市东湖区八一大道1号", phone="0791-86000000")
    progress = lookup(application(Status.AT_SITE)).progress
    assert progress.stage is Stage.AT_SITE and progress.stage_label == "待领取"
    assert (progress.station.name, progress.station.address, progress.station.phone) == (
        station.name,
        "南昌市东湖区八一大道1号",
        "0791-86000000",
    )
    assert station.name in progress.summary and progress.expected_ready is None


def test_posted_shows_the_tracking_number() -> None:
    app = application(Status.SHIPPED, collection=Application.Collection.POST, postal_address="某地某路")
    posted(app, "EMS9876543210CN")
    progress = lookup(app).progress
    assert progress.stage is Stage.POSTED and progress.tracking_number == "EMS9876543210CN"
    assert progress.ready_label == "预计寄出日期"


def test_on_its_way_to_the_station_is_still_in_production() -> None:
    progress = lookup(application(Status.SHIPPED)).progress
    assert progress.stage is Stage.IN_PRODUCTION and progress.tracking_number == ""


def test_delivered_by_post_asks_for_the_own_verification() -> None:
    app = application(Status.PENDING_VERIFICATION, collection=Application.Collection.POST)
    posted(app, "EMS1111111111CN")
    Verification.objects.create(application=app, due=datetime.date(2027, 1, 20), due_provisional=True)
    progress = lookup(app).progress
    assert progress.stage is Stage.COLLECTED and progress.tracking_number == "EMS1111111111CN"
    assert any("2027-01-20（暂估）" in step and "核验" in step for step in progress.next_steps)


def test_a_refusal_gives_the_category_and_what_to_do_never_the_remark() -> None:
    reason = RefusalReason.objects.get(code="05")
    app = application(
        Status.REJECTED,
        refusal_code=reason,
        refusal_remark="经比对疑似他人冒用，已移交",
        refusal_reason=reason.text("经比对疑似他人冒用，已移交"),
    )
    progress = lookup(app).progress
    assert progress.stage is Stage.REFUSED and progress.refusal is not None
    assert progress.refusal.category == "身份核查未通过"
    assert any("户籍地" in step for step in progress.next_steps)
    text = repr(dataclasses.asdict(progress))
    assert "冒用" not in text and "冒名" not in text and "移交" not in text


def test_cross_province_accepted_elsewhere_names_only_the_other_station() -> None:
    app = application(
        Status.AT_SITE,
        exchange=Application.Exchange.IN,
        remote_province="44",
        remote_unit_name="广州市公安局天河区分局某派出所",
    )
    progress = lookup(app).progress
    assert progress.cross_province and progress.station.name == "广州市公安局天河区分局某派出所"
    assert progress.station.address == progress.station.phone == ""


def test_cross_province_in_review_says_who_reviews() -> None:
    app = application(Status.PENDING_REVIEW, exchange=Application.Exchange.OUT, remote_province="44")
    progress = lookup(app).progress
    assert progress.cross_province and "跨省通办" in progress.summary


# ---------------------------------------------------------------------------------------------
# Limits


def test_repeated_failures_lock_the_number_even_for_the_right_proof(settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 3
    app = application(Status.PENDING_REVIEW)
    for _ in range(3):
        assert lookup(app, name="张三", address=f"198.51.100.{_}").outcome is Outcome.NOT_FOUND
    refused = lookup(app, address="198.51.100.99")
    assert refused.outcome is Outcome.LIMITED and refused.retry_at > timezone.now()
    # Once the window has passed, the right proof finds it again.
    RateCount.objects.filter(scope="progress.number").update(
        window_start=F("window_start")
        - datetime.timedelta(minutes=settings.PROGRESS_FAILURE_WINDOW_MINUTES + 10)
    )
    assert lookup(app, address="198.51.100.99").outcome is Outcome.FOUND


def test_an_unknown_number_locks_the_same_way(settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 2
    number = a_number()
    answers = [lookup(number=number, suffix="123456").outcome for _ in range(3)]
    assert answers == [Outcome.NOT_FOUND, Outcome.NOT_FOUND, Outcome.LIMITED]


def test_a_success_clears_nothing(settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 2
    settings.PROGRESS_LOOKUPS_PER_ADDRESS = 3
    app = application(Status.PENDING_REVIEW)
    assert lookup(app, name="张三").outcome is Outcome.NOT_FOUND
    assert lookup(app).outcome is Outcome.FOUND
    assert lookup(app, name="张三", address="192.0.2.1").outcome is Outcome.NOT_FOUND
    assert lookup(app, address="192.0.2.2").outcome is Outcome.LIMITED  # two failures, the success between
    assert lookup(application(Status.ISSUED)).outcome is Outcome.FOUND  # the address's third lookup
    assert lookup(application(Status.ISSUED)).outcome is Outcome.LIMITED  # the fourth: over the address limit


def test_lookups_per_address(settings: Any) -> None:
    settings.PROGRESS_LOOKUPS_PER_ADDRESS = 2
    app = application(Status.PENDING_REVIEW)
    assert [lookup(app).outcome for _ in range(3)] == [Outcome.FOUND, Outcome.FOUND, Outcome.LIMITED]
    assert lookup(app, address="192.0.2.9").outcome is Outcome.FOUND  # another address


def test_the_limits_keep_no_number_or_address_in_the_clear(settings: Any) -> None:
    app = application(Status.PENDING_REVIEW)
    lookup(app, name="张三")
    keys = list(RateCount.objects.values_list("key", flat=True))
    assert keys and all((app.number or "") not in key and ADDRESS not in key for key in keys)


# ---------------------------------------------------------------------------------------------
# Audit


def test_one_audit_row_per_lookup_with_the_number_and_never_the_proof(settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 1
    app = application(Status.PENDING_REVIEW)
    lookup(app)
    lookup(app, name="刘晓")
    lookup(app)
    rows = audit_rows()
    assert [row.action for row in rows] == ["progress.found", "progress.not_found", "progress.limited"]
    assert all(row.object_id == app.number and row.object_type == "progress" for row in rows)
    assert rows[0].detail == {"by": "id_suffix", "stage": "in_review"}
    assert rows[1].detail == {"by": "name"}
    assert rows[2].detail == {"by": "id_suffix", "limit": "number"}
    text = repr([row.detail for row in rows])
    assert app.id_number[-6:] not in text and "刘晓" not in text
