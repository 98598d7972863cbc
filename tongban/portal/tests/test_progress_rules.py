"""办理进度查询, the pure rules: every status has its stage in plain words, refusals read as a
category and advice, and what a citizen types is compared as the issue says."""

from __future__ import annotations

import pytest

from tongban.intake.models import Application
from tongban.portal.progress import rules
from tongban.portal.progress.rules import Stage

Status = Application.Status


def test_every_status_but_the_draft_has_a_stage() -> None:
    statuses = {status.value for status in Status}
    assert set(rules.STAGES) | rules.UNSEEN_STATUSES == statuses
    assert rules.stage_of("draft", "station") is None


@pytest.mark.parametrize(
    ("status", "collection", "stage"),
    [
        ("accepted", "station", Stage.ACCEPTED),
        ("pending_review", "station", Stage.IN_REVIEW),
        ("under_verification", "post", Stage.IN_REVIEW),
        ("issued", "station", Stage.ISSUED),
        ("in_production", "station", Stage.IN_PRODUCTION),
        ("recollect", "station", Stage.IN_PRODUCTION),
        ("produced", "post", Stage.IN_PRODUCTION),
        ("shipped", "station", Stage.IN_PRODUCTION),  # on its way to the station: not yet 待领取
        ("shipped", "post", Stage.POSTED),
        ("at_site", "station", Stage.AT_SITE),
        ("handed_over", "station", Stage.COLLECTED),
        ("pending_verification", "post", Stage.COLLECTED),
        ("pending_verification", "station", Stage.COLLECTED),
        ("verified", "station", Stage.COLLECTED),
        ("rejected", "station", Stage.REFUSED),
        ("withdrawn", "station", Stage.WITHDRAWN),
    ],
)
def test_status_to_stage(status: str, collection: str, stage: Stage) -> None:
    assert rules.stage_of(status, collection) is stage


def test_the_stages_speak_the_issues_words() -> None:
    assert [stage.label for stage in Stage] == [
        "已受理",
        "审核中",
        "已签发",
        "制证中",
        "待领取",
        "已邮寄",
        "已领取",
        "不予签发",
        "已撤回",
    ]


def test_every_stage_has_a_plain_sentence() -> None:
    for status in rules.STAGES:
        for collection in ("station", "post"):
            stage = rules.stage_of(status, collection)
            assert stage is not None
            text = rules.summary(
                stage, status=status, collection=collection, cross_province=False, station="城关派出所"
            )
            assert text.endswith("。") and "_" not in text, (status, text)


def test_the_station_is_named_where_the_card_waits() -> None:
    text = rules.summary(
        Stage.AT_SITE, status="at_site", collection="station", cross_province=False, station="城关派出所"
    )
    assert text == "证件已到达城关派出所，可以领取。"
    assert "城关派出所" in rules.summary(
        Stage.IN_PRODUCTION,
        status="shipped",
        collection="station",
        cross_province=False,
        station="城关派出所",
    )


def test_cross_province_review_says_so() -> None:
    text = rules.summary(
        Stage.IN_REVIEW, status="pending_review", collection="station", cross_province=True, station=""
    )
    assert "跨省通办" in text


def test_the_track_marks_where_it_stands() -> None:
    assert rules.track(Stage.ISSUED, "station") == (
        ("已受理", "done"),
        ("审核中", "done"),
        ("已签发", "current"),
        ("制证中", "todo"),
        ("待领取", "todo"),
        ("已领取", "todo"),
    )
    by_post = rules.track(Stage.POSTED, "post")
    assert ("已邮寄", "current") in by_post and all(label != "待领取" for label, _ in by_post)
    assert rules.track(Stage.REFUSED, "station") == () and rules.track(Stage.WITHDRAWN, "post") == ()


def test_refusals_read_as_a_category_and_send_the_applicant_home() -> None:
    for code in ("01", "02", "03", "04", "05", "06", "07", "08", "99", "", None, "77"):
        advice = rules.refusal_advice(code)
        assert "户籍地" in advice.advice and advice.category
    # The reviewer's suspicion is not told to whoever holds a 受理号.
    assert rules.refusal_advice("05").category == rules.refusal_advice("04").category == "身份核查未通过"
    assert "冒名" not in rules.refusal_advice("05").category
    assert rules.refusal_advice("01").category == "不符合首次申领条件"
    assert rules.refusal_advice("99") == rules.refusal_advice(None)


def test_next_steps() -> None:
    assert any(
        "领证回执" in step for step in rules.next_steps(Stage.AT_SITE, status="at_site", collection="station")
    )
    assert (
        "重新采集相片" in rules.next_steps(Stage.IN_PRODUCTION, status="recollect", collection="station")[0]
    )
    assert rules.next_steps(Stage.IN_REVIEW, status="pending_review", collection="station") == ()
    assert rules.next_steps(Stage.IN_REVIEW, status="under_verification", collection="station")


@pytest.mark.parametrize(
    ("registered", "typed", "same"),
    [
        ("刘晓燕", "刘晓燕", True),
        ("刘晓燕", "  刘晓燕\u3000", True),  # spaces around, full-width ones included
        ("刘晓燕", "刘晓", False),
        ("刘晓燕", "刘 晓燕", True),  # a space typed inside is no part of a name
        ("买买提·吐尔逊", "买买提•吐尔逊", True),
        ("买买提·吐尔逊", "买买提・吐尔逊", True),
        ("买买提·吐尔逊", "买买提･吐尔逊", True),
        ("买买提·吐尔逊", "买买提吐尔逊", False),
    ],
)
def test_names_compare_after_trimming_and_with_any_middle_dot(
    registered: str, typed: str, same: bool
) -> None:
    assert rules.matches(id_number="", name=registered, typed_suffix="", typed_name=typed) is same


@pytest.mark.parametrize(
    ("typed", "same"),
    [
        ("17002X", True),
        ("17002x", True),
        ("１７００２ｘ", True),
        ("170021", False),
        ("7002X", False),
        ("", False),
    ],
)
def test_the_last_six_characters_with_x_in_either_case(typed: str, same: bool) -> None:
    assert (
        rules.matches(id_number="36010219900517002X", name="刘晓燕", typed_suffix=typed, typed_name="")
        is same
    )
