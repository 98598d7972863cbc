"""The review API (审核签发): the work queue, take / release / decide, the reviewer's view of an
application, and every role against every endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.core.dates import add_years
from tongban.intake.models import Application, ReviewChain, ReviewChainStep
from tongban.intake.tests.test_api import accept_by_api
from tongban.notifications import services as notifications
from tongban.registry.models import Person, RefusalReason, Unit
from tongban.review.models import ReviewStep, VerificationNote
from tongban.testing.factories import PersonFactory, UserFactory
from tongban.testing.personas import Personas, api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_a() -> User:
    return UserFactory.create(username="reviewer_a", last_name="王", first_name="审一", role="reviewer")


@pytest.fixture
def reviewer_b() -> User:
    return UserFactory.create(username="reviewer_b", last_name="李", first_name="审二", role="reviewer")


@pytest.fixture
def number(personas: Personas, person: Person) -> str:
    """Accepted at 章贡区城关派出所 (360702001) by the Ganzhou clerk: a cross-region application."""
    body: dict[str, Any] = accept_by_api(api_client(personas.ganzhou_clerk), person)
    return str(body["number"])


def decide(api: APIClient, number: str, **body: Any) -> Any:
    return api.post(f"/api/v1/applications/{number}/review/decide", body, format="json")


# ---------------------------------------------------------------------------------------------
# The queue


def test_queue_lists_the_item_with_its_deadline_and_counts(
    personas: Personas, person: Person, number: str, reviewer_a: User, county_reviewer: User
) -> None:
    body = api_client(reviewer_a).get("/api/v1/review/queue").json()
    (row,) = body["results"]
    application = Application.objects.get(number=number)
    assert row["number"] == number and row["name"] == "刘晓燕"
    assert row["id_number"] == person.id_number[:6] + "********" + person.id_number[-4:]
    assert (row["type"], row["type_label"], row["status"]) == ("first", "首次申领", "pending_review")
    assert row["acceptance_unit"]["code"] == "360702001" and row["cross_region"] is True
    assert (row["step"], row["step_title"], row["assignee"]) == (1, "审核签发", None)
    assert row["due"] == str(application.review_due)
    assert row["due_state"] in {"", "at_risk", "due_today"}
    assert body["counts"]["all"] == 1 and body["counts"]["mine"] == 0 and body["next_after"] is None
    assert body["bucket"] == "all" and body["today"] == timezone.localdate().isoformat()
    assert (body["scope"], body["sort"], body["q"], body["total"]) == ("mine", "due", "", 1)
    assert body["scope_counts"] == {"mine": 1, "subtree": 1}
    # The county bureau sees its stations' items in 辖区在办, not in its own 我的待办; another
    # station of the county sees neither.
    county = api_client(county_reviewer)
    mine = county.get("/api/v1/review/queue").json()
    assert mine["results"] == [] and mine["scope_counts"] == {"mine": 0, "subtree": 1}
    subtree = county.get("/api/v1/review/queue?scope=subtree").json()
    assert [r["number"] for r in subtree["results"]] == [number] and subtree["total"] == 1
    other_station = api_client(personas.nanchang_reviewer).get("/api/v1/review/queue?scope=subtree").json()
    assert other_station["results"] == [] and other_station["counts"]["all"] == 0
    bad = api_client(reviewer_a).get("/api/v1/review/queue?bucket=urgent")
    assert bad.status_code == 400 and bad.json()["fields"]["bucket"][0]["code"] == "invalid_choice"
    for param in ("scope=all", "sort=deadline"):
        refused = api_client(reviewer_a).get(f"/api/v1/review/queue?{param}")
        assert refused.status_code == 400 and refused.json()["code"] == "invalid"


def test_queue_pages_by_deadline(personas: Personas, reviewer_a: User) -> None:
    clerk = api_client(personas.ganzhou_clerk)
    numbers = [accept_by_api(clerk, p)["number"] for p in PersonFactory.create_batch(3)]
    api = api_client(reviewer_a)
    seen: list[str] = []
    after = ""
    for _ in range(3):
        response = api.get("/api/v1/review/queue", {"after": after})
        seen += [row["number"] for row in response.json()["results"]]
        after = response.json()["next_after"] or ""
        if not after:
            break
    assert seen == numbers  # same deadline: by id


@pytest.mark.parametrize(
    "who", ["ganzhou_clerk", "nanchang_clerk", "donghu_supervisor", "finance", "centre_operator", "admin"]
)
def test_the_queue_refuses_everybody_who_does_not_review(personas: Personas, number: str, who: str) -> None:
    response = api_client(personas.all()[who]).get("/api/v1/review/queue")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_the_queue_refuses_a_search_that_is_no_number(number: str, reviewer_a: User) -> None:
    response = api_client(reviewer_a).get("/api/v1/review/queue?q=张三")
    assert response.status_code == 400
    assert response.json()["fields"]["q"][0]["code"] == "bad_search"


# ---------------------------------------------------------------------------------------------
# Take and release


def test_take_holds_the_item_and_a_second_reviewer_is_told_who(
    number: str, reviewer_a: User, reviewer_b: User
) -> None:
    a, b = api_client(reviewer_a), api_client(reviewer_b)
    taken = a.post(f"/api/v1/applications/{number}/review/take")
    assert taken.status_code == 200
    assert taken.json()["review"]["assignee"] == "王审一"
    assert a.post(f"/api/v1/applications/{number}/review/take").status_code == 200  # idempotent
    refused = b.post(f"/api/v1/applications/{number}/review/take")
    assert refused.status_code == 409
    assert refused.json()["code"] == "taken" and "王审一" in refused.json()["message"]
    assert decide(b, number, step=1, decision="issue").status_code == 409
    not_holder = b.post(f"/api/v1/applications/{number}/review/release")
    assert not_holder.status_code == 409 and not_holder.json()["code"] == "not_holder"
    assert [r["number"] for r in a.get("/api/v1/review/queue?bucket=mine").json()["results"]] == [number]
    released = a.post(f"/api/v1/applications/{number}/review/release")
    assert released.status_code == 200 and released.json()["review"]["assignee"] is None
    assert b.post(f"/api/v1/applications/{number}/review/take").status_code == 200
    actions = [event["action"] for event in released.json()["events"]]
    assert actions[-2:] == ["taken", "released"]


# ---------------------------------------------------------------------------------------------
# Decisions


def test_issue(
    personas: Personas,
    number: str,
    reviewer_a: User,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(api_client(reviewer_a), number, step=1, decision="issue", reason="信息核对无误")
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert (body["status"], body["status_label"]) == ("issued", "已签发")
    assert body["validity"] == "20"
    assert body["validity_label"] == f"{today:%Y.%m.%d}-{add_years(today, 20):%Y.%m.%d}"
    assert body["issuing_authority"] == Unit.objects.get(code="360102").name
    assert body["issued_at"] and body["review"]["assignee"] is None
    assert body["events"][-1]["action"] == "issued" and body["events"][-1]["actor"] == "王审一"
    step = ReviewStep.objects.get(application__number=number)
    assert (step.decision, step.decided_by) == ("issued", reviewer_a)
    assert [(n.kind, n.phone) for n in outbox] == [("application.issued", "13807910001")]
    # Decided once: a second decision and a withdrawal are conflicts.
    again = decide(api_client(reviewer_a), number, step=1, decision="issue")
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    withdraw = api_client(personas.ganzhou_clerk).post(
        f"/api/v1/applications/{number}/withdraw", {"reason": "申请人撤回"}, format="json"
    )
    assert withdraw.status_code == 409 and withdraw.json()["code"] == "not_withdrawable"
    assert Application.objects.get(number=number).status == "issued"


def test_refuse_goes_back_to_the_acceptance_station(
    personas: Personas,
    number: str,
    reviewer_a: User,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    api = api_client(reviewer_a)
    bare = decide(api, number, step=1, decision="refuse", reason="户籍信息与申请不符")
    assert bare.status_code == 400 and bare.json()["code"] == "refusal_reason_required"
    assert bare.json()["fields"]["refusal_reason"][0]["code"] == "refusal_reason_required"
    other = decide(api, number, step=1, decision="refuse", refusal_reason="99", reason=" ")
    assert other.status_code == 400 and other.json()["fields"]["reason"][0]["code"] == "reason_required"
    unknown = decide(api, number, step=1, decision="refuse", refusal_reason="42")
    assert unknown.status_code == 400 and unknown.json()["code"] == "bad_refusal_reason"
    RefusalReason.objects.filter(code="08").update(active=False)
    inactive = decide(api, number, step=1, decision="refuse", refusal_reason="08")
    assert inactive.status_code == 400 and inactive.json()["code"] == "refusal_reason_inactive"
    assert inactive.json()["fields"]["refusal_reason"][0]["message"] == "“不属本辖区户籍”已停用，请另选。"
    too_long = decide(api, number, step=1, decision="refuse", refusal_reason="02", reason="长" * 401)
    assert too_long.status_code == 400 and too_long.json()["code"] == "reason_too_long"
    assert Application.objects.get(number=number).status == "pending_review"
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(
            api, number, step=1, decision="refuse", refusal_reason="02", reason="户籍登记出生日期与申请不一致"
        )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["refusal_reason"], response.json()["refusal"]) == (
        "rejected",
        "户籍信息不符：户籍登记出生日期与申请不一致",
        {"code": "02", "name": "户籍信息不符", "remark": "户籍登记出生日期与申请不一致"},
    )
    assert {(n.kind, n.unit_code) for n in outbox} == {
        ("application.refused", "360702001"),
        ("application.refused", ""),
    }
    clerk = api_client(personas.ganzhou_clerk)
    rows = clerk.get("/api/v1/applications?view=refused_unnotified").json()["results"]
    assert [(row["number"], row["refusal_reason"]) for row in rows] == [
        (number, "户籍信息不符：户籍登记出生日期与申请不一致")
    ]
    detail = clerk.get(f"/api/v1/applications/{number}").json()
    assert detail["refusal"]["name"] == "户籍信息不符" and detail["face_hits"] is None
    assert [row["number"] for row in clerk.get("/api/v1/applications?view=refused").json()["results"]] == [
        number
    ]
    assert clerk.get("/api/v1/applications?view=in_review").json()["results"] == []


def test_verify_then_issue(number: str, reviewer_a: User, reviewer_b: User) -> None:
    api = api_client(reviewer_a)
    no_method = decide(api, number, step=1, decision="verify", reason="电话联系申请人")
    assert no_method.status_code == 400 and no_method.json()["fields"]["method"][0]["code"] == "bad_method"
    bad_method = decide(api, number, step=1, decision="verify", reason="看看", method="guess")
    assert (
        bad_method.status_code == 400 and bad_method.json()["fields"]["method"][0]["code"] == "invalid_choice"
    )
    response = decide(
        api, number, step=1, decision="verify", reason="电话联系申请人母亲，确认身份", method="phone"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "under_verification" and body["review"]["assignee"] == "王审一"
    assert body["events"][-1]["note"] == "电话联系申请人母亲，确认身份"
    note = VerificationNote.objects.get(application__number=number)
    assert (note.method, note.author) == ("phone", reviewer_a)
    queue = api.get("/api/v1/review/queue?bucket=verification").json()
    assert [row["number"] for row in queue["results"]] == [number] and queue["counts"]["verification"] == 1
    # The item stays with whoever verified it.
    assert decide(api_client(reviewer_b), number, step=1, decision="issue").status_code == 409
    issued = decide(api, number, step=1, decision="issue")
    assert issued.status_code == 200 and issued.json()["status"] == "issued"


def test_a_stale_step_is_a_conflict_and_changes_nothing(
    personas: Personas, reviewer_a: User, county_reviewer: User
) -> None:
    chain = ReviewChain.objects.create(name="东湖区两级审核签发", region_prefix="360102")
    ReviewChainStep.objects.create(chain=chain, order=1, level="station", title="审核")
    ReviewChainStep.objects.create(chain=chain, order=2, level="county", title="签发")
    person = PersonFactory.create()
    body = accept_by_api(api_client(personas.ganzhou_clerk), person)
    number = body["number"]
    assert [step["title"] for step in body["review"]["chain"]] == ["审核", "签发"]

    passed = decide(api_client(reviewer_a), number, step=1, decision="issue", reason="审核通过")
    assert passed.status_code == 200
    review = passed.json()["review"]
    assert (passed.json()["status"], review["step"], review["title"], review["unit"]["code"]) == (
        "pending_review",
        2,
        "签发",
        "360102",
    )
    county = api_client(county_reviewer)
    # The county reviewer still has step 1 on screen and decides it.
    stale = decide(county, number, step=1, decision="refuse", refusal_reason="07", reason="材料不全")
    assert stale.status_code == 409 and stale.json()["code"] == "step_decided"
    application = Application.objects.get(number=number)
    assert (application.status, application.review_step, application.refusal_reason) == (
        "pending_review",
        2,
        "",
    )
    # The station has passed it on: it is no longer theirs to decide (they still see it).
    passed_on = decide(api_client(reviewer_a), number, step=2, decision="issue")
    assert passed_on.status_code == 409 and passed_on.json()["code"] == "other_unit"
    assert passed_on.json()["message"] == "该事项已流转至南昌市公安局东湖分局签发，您无需办理。"
    taken = api_client(reviewer_a).post(f"/api/v1/applications/{number}/review/take")
    assert taken.status_code == 409 and taken.json()["code"] == "other_unit"
    issued = decide(county, number, step=2, decision="issue")
    assert issued.status_code == 200
    assert issued.json()["issuing_authority"] == Unit.objects.get(code="360102").name
    assert list(ReviewStep.objects.filter(application__number=number).values_list("step", "decision")) == [
        (1, "passed"),
        (2, "issued"),
    ]


def test_bad_decisions_are_refused_per_field(number: str, reviewer_a: User) -> None:
    api = api_client(reviewer_a)
    response = decide(api, number, step=0, decision="approve")
    assert response.status_code == 400
    assert {"step", "decision"} == set(response.json()["fields"])
    assert decide(api, number, decision="issue").json()["fields"]["step"][0]["code"] == "required"
    assert Application.objects.get(number=number).status == "pending_review"


# ---------------------------------------------------------------------------------------------
# The reviewer's view of an application


def test_reviewers_see_face_comparisons_others_do_not(
    personas: Personas, number: str, reviewer_a: User
) -> None:
    reviewer_view = api_client(reviewer_a).get(f"/api/v1/applications/{number}").json()
    assert isinstance(reviewer_view["face_hits"], list)
    for hit in reviewer_view["face_hits"]:
        assert set(hit) == {
            "gallery",
            "gallery_label",
            "ref_id",
            "score",
            "is_self",
            "kind",
            "name",
            "id_number",
            "number",
            "unit",
            "label",
        }
    clerk_view = api_client(personas.ganzhou_clerk).get(f"/api/v1/applications/{number}").json()
    assert clerk_view["face_hits"] is None
    for body in (reviewer_view, clerk_view):
        assert "photo" not in body and "guardian_photo" not in body


# ---------------------------------------------------------------------------------------------
# Every role against the review actions


@pytest.mark.parametrize("who", sorted(Personas.__dataclass_fields__))
def test_nobody_else_takes_or_decides(personas: Personas, number: str, who: str) -> None:
    """Only reviewers of the household side act: a role that does not review gets 403, a reviewer
    who cannot see the application 404."""
    user = personas.all()[who]
    api = api_client(user)
    refused = (404, "not_found") if user.can("review.decide") else (403, "permission_denied")
    for action in ("take", "release"):
        response = api.post(f"/api/v1/applications/{number}/review/{action}")
        assert (response.status_code, response.json()["code"]) == refused
    response = decide(api, number, step=1, decision="issue")
    assert (response.status_code, response.json()["code"]) == refused
    application = Application.objects.get(number=number)
    assert (application.status, application.assignee_id) == ("pending_review", None)
