"""Review and issue (审核签发) on a real database: holding an item, the three decisions, chains,
and exactly one decision when two reviewers act at once."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tongban.biometrics.services import register_photos_enrol, watchlist_photos_enrol
from tongban.core.errors import ServiceError
from tongban.intake import capture, rules
from tongban.intake import services as intake_services
from tongban.intake.models import Application, ReviewChain
from tongban.intake.selectors import GALLERY_LABELS, counter_face_hits, counter_page
from tongban.registry.models import FloatingRegistration, WantedPerson
from tongban.review import selectors, services
from tongban.review.models import ReviewStep, VerificationNote
from tongban.testing.applications import NO_FINGERS
from tongban.testing.factories import PersonFactory, UserFactory, station

pytestmark = pytest.mark.django_db

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.fixture
def second_reviewer(db):
    return UserFactory.create(username="donghu_reviewer_2", role="reviewer", unit=station("360102001"))


def test_take_shows_the_holder_to_others(personas, accept, household_reviewer, second_reviewer):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    services.review_take(actor=household_reviewer, application=application)
    with pytest.raises(ServiceError) as refused:
        services.review_take(actor=second_reviewer, application=application)
    assert refused.value.status == 409 and household_reviewer.display_name in refused.value.message
    with pytest.raises(ServiceError):
        services.review_approve(actor=second_reviewer, application=application, step=1)
    services.review_release(actor=household_reviewer, application=application)
    services.review_take(actor=second_reviewer, application=application)


def test_reviewers_of_other_units_cannot_see_or_act(personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    for user in (personas.nanchang_reviewer, personas.ganzhou_clerk, personas.donghu_supervisor):
        with pytest.raises(ServiceError) as refused:
            services.review_take(actor=user, application=application)
        assert refused.value.status == 404
    assert selectors.review_queue(personas.nanchang_reviewer).rows == []


def test_issue_fixes_validity_and_authority(
    personas, accept, household_reviewer, outbox, django_capture_on_commit_callbacks
):
    person = PersonFactory.create(birth_date=datetime.date(1990, 5, 17))
    application = accept(personas.ganzhou_clerk, person)
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.review_issue(actor=household_reviewer, application=application, step=1)
    today = timezone.localdate()
    assert issued.status == Application.Status.ISSUED
    assert issued.valid_from == today and issued.valid_until == today.replace(year=today.year + 20)
    assert issued.issuing_authority == "南昌市公安局东湖分局"
    assert ReviewStep.objects.get(application=issued).decision == ReviewStep.Decision.ISSUED
    assert any(n.kind == "application.issued" for n in outbox)
    with pytest.raises(ServiceError) as refused:
        services.review_refuse(
            actor=household_reviewer, application=issued, step=1, refusal_reason="07", remark="迟到"
        )
    assert refused.value.code == "already_decided"


def test_refusal_goes_back_to_the_acceptance_station(
    personas, accept, household_reviewer, outbox, django_capture_on_commit_callbacks
):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    with pytest.raises(ServiceError) as no_reason:
        services.review_refuse(actor=household_reviewer, application=application, step=1, refusal_reason="")
    assert no_reason.value.code == "refusal_reason_required" and "refusal_reason" in no_reason.value.fields
    with django_capture_on_commit_callbacks(execute=True):
        refused = services.review_refuse(
            actor=household_reviewer,
            application=application,
            step=1,
            refusal_reason="06",
            remark="走访社区及联系亲属均未能确认",
        )
    assert refused.status == Application.Status.REJECTED
    assert (refused.refusal_code_id, refused.refusal_remark) == ("06", "走访社区及联系亲属均未能确认")
    assert refused.refusal_reason == "经核查仍难以确认身份：走访社区及联系亲属均未能确认"
    event = refused.events.get(action="refused")
    assert event.note == refused.refusal_reason and event.detail["refusal_reason"] == "06"
    assert ReviewStep.objects.get(application=refused).reason == refused.refusal_reason
    to_station = [n for n in outbox if n.unit_code == "360702001"]
    assert to_station and "回户口所在地" in to_station[0].message
    assert "经核查仍难以确认身份：走访社区及联系亲属均未能确认" in to_station[0].message
    assert [a.pk for a in counter_page(personas.ganzhou_clerk, "refused_unnotified").rows] == [refused.pk]
    intake_services.application_refusal_notified(
        actor=personas.ganzhou_clerk, application=refused, note="电话告知"
    )
    assert counter_page(personas.ganzhou_clerk, "refused_unnotified").rows == []


def test_verification_keeps_the_item_with_the_reviewer(personas, accept, household_reviewer, second_reviewer):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    with pytest.raises(ServiceError):
        services.review_record_verification(
            actor=household_reviewer, application=application, step=1, method="", note="走访"
        )  # no method
    noted = services.review_record_verification(
        actor=household_reviewer,
        application=application,
        step=1,
        method="visit",
        note="走访社区，邻居确认本人长期居住",
    )
    assert noted.status == Application.Status.UNDER_VERIFICATION and noted.assignee == household_reviewer
    assert VerificationNote.objects.filter(application=noted).count() == 1
    with pytest.raises(ServiceError):
        services.review_take(actor=second_reviewer, application=noted)
    issued = services.review_issue(actor=household_reviewer, application=noted, step=1)
    assert issued.status == Application.Status.ISSUED


def test_two_step_chain_station_then_county(personas, accept, household_reviewer):
    chain = ReviewChain.objects.create(name="两级", region_prefix="3601")
    chain.steps.create(order=1, level="station", title="审核")
    chain.steps.create(order=2, level="county", title="签发")
    county_reviewer = UserFactory.create(role="reviewer", unit=station("360102"))
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    with pytest.raises(ServiceError) as early:
        services.review_issue(actor=household_reviewer, application=application, step=1)
    assert (early.value.code, early.value.status) == ("bad_transition", 409)
    passed = services.review_pass(actor=household_reviewer, application=application, step=1)
    assert passed.status == Application.Status.PENDING_REVIEW and passed.review_step == 2
    assert passed.review_unit is not None and passed.review_unit.code == "360102"
    assert selectors.review_queue(household_reviewer).rows == []  # the station's queue no longer has it
    assert [a.pk for a in selectors.review_queue(county_reviewer).rows] == [passed.pk]
    with pytest.raises(ServiceError) as stale:
        services.review_pass(actor=county_reviewer, application=passed, step=1)
    assert stale.value.code == "step_decided"
    with pytest.raises(ServiceError) as last:
        services.review_pass(actor=county_reviewer, application=passed, step=2)
    assert (last.value.code, last.value.status) == ("bad_transition", 409)
    issued = services.review_issue(actor=county_reviewer, application=passed, step=2)
    assert issued.status == Application.Status.ISSUED
    assert list(ReviewStep.objects.filter(application=issued).values_list("decision", flat=True)) == [
        "passed",
        "issued",
    ]


def test_a_chain_ending_at_the_city_bureau_still_issues_as_the_household_county(personas, accept):
    """居民身份证法 第八条: 签发机关 is the household's county-level bureau, not the last step's unit."""
    chain = ReviewChain.objects.create(name="市局复核", region_prefix="3601")
    chain.steps.create(order=1, level="county", title="审核")
    chain.steps.create(order=2, level="city", title="签发")
    county_reviewer = UserFactory.create(role="reviewer", unit=station("360102"))
    city_reviewer = UserFactory.create(role="reviewer", unit=station("3601"))
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    services.review_approve(actor=county_reviewer, application=application, step=1)
    issued = services.review_approve(actor=city_reviewer, application=application, step=2)
    assert issued.review_unit is not None and issued.review_unit.code == "3601"  # the city bureau's step
    assert issued.issuing_authority == "南昌市公安局东湖分局"


@pytest.mark.parametrize(("age_date", "reason", "years"), [("acceptance", "11", 5), ("issue", "12", 10)])
def test_turning_16_between_acceptance_and_issue(
    personas, accept, household_reviewer, settings, age_date, reason, years
):
    """Accepted at 15 under 11; 16 by the issue day. Where the acceptance date fixes the age
    nothing changes; where the issue date does, the card is a 16-year-old's and the reason 12."""
    settings.VALIDITY_AGE_DATE = age_date
    today = timezone.localdate()
    birth = today.replace(year=today.year - 16) - datetime.timedelta(days=3)  # 16 three days ago
    application = accept(personas.nanchang_clerk, PersonFactory.create(birth_date=birth))
    # As it stood when accepted a week ago, at 15, under 11 (the counter's part is tested there).
    week_ago = timezone.now() - datetime.timedelta(days=7)
    Application.objects.filter(pk=application.pk).update(accepted_at=week_ago, reason_id="11")
    application.refresh_from_db()
    issued = services.review_issue(actor=household_reviewer, application=application, step=1)
    assert issued.reason_id == reason and issued.valid_from is not None
    assert issued.valid_until == issued.valid_from.replace(year=issued.valid_from.year + years)
    event = issued.events.get(action="issued")
    assert ("reason" in event.detail) == (reason == "12")


def test_face_comparisons_with_the_register_and_the_watch_lists(
    personas, accept, household_reviewer, standard_photo
):
    """The same face as the applicant's in the register, on the wanted list and among the
    floating population: each shows up for the reviewer with its score and who it is."""
    applicant = PersonFactory.create(photo=standard_photo)
    lookalike = PersonFactory.create(photo=standard_photo, registration_unit=station("360702001"))
    WantedPerson.objects.create(
        id_number=lookalike.id_number,
        person=lookalike,
        name=lookalike.name,
        case_number="J3607",
        listed_on="2026-02-01",
    )
    FloatingRegistration.objects.create(
        person=lookalike,
        residence_unit=station("360102002"),
        address="南昌市东湖区",
        registered_on="2026-03-01",
    )
    register_photos_enrol(actor=None)
    enrolled = watchlist_photos_enrol(actor=None)
    assert {name: r.enrolled for name, r in enrolled.items()} == {"wanted": 1, "floating": 1}
    application = accept(personas.ganzhou_clerk, applicant)
    file = selectors.review_file(household_reviewer, application.pk)
    by_gallery = {(c.gallery, c.is_self): c for c in file.faces}
    assert by_gallery[("permanent", True)].score > 0.99
    masked = lookalike.id_number[:6] + "********" + lookalike.id_number[-4:]
    other = by_gallery[("permanent", False)]
    assert (other.kind, other.name, other.id_number, other.unit) == (
        "person",
        lookalike.name,
        masked,
        "章贡区城关派出所",
    )
    assert other.label == f"{lookalike.name}（{masked}），户籍地：章贡区城关派出所"
    assert by_gallery[("wanted", False)].label == f"{lookalike.name}（{masked}），在逃人员，案件编号 J3607"
    assert by_gallery[("floating", False)].label.endswith("流动人口，居住地：东湖区城东派出所")
    for candidate in file.faces:  # never the engine's reference or the full number
        assert ":" not in candidate.label and lookalike.id_number not in candidate.label
        assert candidate.gallery_label in GALLERY_LABELS.values()
    # The clerk saw the register lookalike (查重) but nothing of the watch lists, named.
    assert [(hit.kind, hit.label) for hit in counter_face_hits(application)] == [("person", other.label)]


def test_queue_buckets(personas, accept, household_reviewer):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    days = selectors.due_days()
    Application.objects.filter(pk=application.pk).update(review_due=days.today - datetime.timedelta(days=1))
    page = selectors.review_queue(household_reviewer, "overdue")
    assert [a.pk for a in page.rows] == [application.pk]
    assert page.counts["overdue"] == 1 and page.counts["due_today"] == 0
    Application.objects.filter(pk=application.pk).update(review_due=days.today)
    assert selectors.review_queue(household_reviewer).counts["due_today"] == 1
    Application.objects.filter(pk=application.pk).update(review_due=days.next_workday)
    assert selectors.review_queue(household_reviewer).counts["at_risk"] == 1


def test_queue_is_keyset_paginated(personas, accept, household_reviewer):
    for _ in range(3):
        accept(personas.ganzhou_clerk, PersonFactory.create())
    first = selectors.review_queue(household_reviewer, limit=2)
    assert len(first.rows) == 2 and first.next_after
    second = selectors.review_queue(household_reviewer, after=first.next_after, limit=2)
    assert len(second.rows) == 1
    assert not {a.pk for a in first.rows} & {a.pk for a in second.rows}


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
@pytest.mark.parametrize("decisions", [("issue", "refuse"), ("issue", "issue")])
def test_two_reviewers_at_once_make_one_decision(reference_data, standard_photo, decisions):
    clerk = UserFactory.create(role="clerk", unit=station("360702001"))
    reviewers = [UserFactory.create(role="reviewer", unit=station("360102001")) for _ in range(2)]
    application = intake_services.application_start(
        actor=clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    intake_services.application_update(
        actor=clerk,
        application=application,
        changes={
            "phone": "13800138000",
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": True,
        },
    )
    capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
    Application.objects.update(photo=standard_photo, photo_report={"passed": True})
    application = intake_services.application_accept(actor=clerk, application=application)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(k: int) -> None:
        try:
            barrier.wait()
            if decisions[k] == "refuse":
                services.review_refuse(
                    actor=reviewers[k], application=application, step=1, refusal_reason="06", remark="意见"
                )
            else:
                services.review_issue(actor=reviewers[k], application=application, step=1, reason="意见")
            outcomes.append("decided")
        except ServiceError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["already_decided", "decided"], ["decided", "taken"])
    application.refresh_from_db()
    assert application.status in {Application.Status.ISSUED, Application.Status.REJECTED}
    decided = ReviewStep.objects.filter(application=application).exclude(decision="")
    assert decided.count() == 1
    assert application.events.filter(action__in=["issued", "refused"]).count() == 1


def test_an_overlong_reason_is_refused_on_every_database(personas, accept, household_reviewer):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    with pytest.raises(ServiceError) as refused:
        services.review_refuse(
            actor=household_reviewer, application=application, step=1, refusal_reason="", remark="长" * 501
        )
    assert refused.value.code == "reason_too_long"
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW


def test_only_the_unit_whose_step_it_is_acts(personas, accept, household_reviewer):
    """A county bureau sees its stations' items but does not take or decide them; a reviewer of
    the acceptance side reads the item and is told where it is."""
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    county = UserFactory.create(role="reviewer", unit=station("360102"))
    acceptance_side = UserFactory.create(role="reviewer", unit=station("360702001"))
    for user, message in (
        (county, "该事项由东湖区城关派出所审核签发，本单位只可查看。"),
        (acceptance_side, "该事项由东湖区城关派出所审核签发，您无需办理。"),
    ):
        for act in (
            lambda u: services.review_take(actor=u, application=application),
            lambda u: services.review_approve(actor=u, application=application, step=1),
        ):
            with pytest.raises(ServiceError) as refused:
                act(user)
            assert (refused.value.code, refused.value.status, refused.value.message) == (
                "other_unit",
                409,
                message,
            )
        actions = selectors.review_actions(user, application)
        assert (actions.take, actions.release, actions.decide, actions.notice) == (
            False,
            False,
            False,
            message,
        )
    actions = selectors.review_actions(household_reviewer, application)
    assert (actions.take, actions.decide, actions.last_step) == (True, False, True)
    services.review_take(actor=household_reviewer, application=application)
    application.refresh_from_db()
    actions = selectors.review_actions(household_reviewer, application)
    assert (actions.take, actions.release, actions.decide) == (False, True, True)
    assert application.status == Application.Status.PENDING_REVIEW
