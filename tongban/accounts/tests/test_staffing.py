"""The staffing selector: which units a review chain or a distribution rule sends work to where
no active account can do it, and the refusal it raises."""

from __future__ import annotations

import pytest

from tongban.accounts import staffing
from tongban.accounts.roles import Role, roles_with
from tongban.core.errors import ServiceError
from tongban.registry.models import Unit
from tongban.testing.staffing import staff

pytestmark = pytest.mark.django_db


def codes(gaps: list[staffing.Gap]) -> list[str]:
    return [gap.unit.code for gap in gaps]


def test_ancestor_paths_and_roles() -> None:
    assert staffing.ancestor_paths("36/3601/360102/") == ["36/", "36/3601/", "36/3601/360102/"]
    assert roles_with("shipment.receive") == (Role.CLERK, Role.DISTRIBUTOR)
    assert staffing.RECEIVE.who == "本单位的受理员或分发发放员"
    assert staffing.REVIEW.who == "本单位或上级单位的审核签发员"


def test_station_step_lands_on_every_station_under_the_prefix(personas) -> None:
    # The persona reviewer works at 360102002 only.
    gaps = staffing.review_chain_gaps(prefix="360102", steps=[("station", "审核签发")])
    assert codes(gaps) == ["360102001"]
    assert gaps[0].step == 1 and gaps[0].where == "第1环节“审核签发”"


def test_accounts_above_reach_review_but_not_shipments(personas) -> None:
    staff("reviewer", "3601")
    steps = [("station", "初审"), ("county", "审核签发"), ("city", "复核")]
    assert staffing.review_chain_gaps(prefix="3601", steps=steps) == []
    staff("distributor", "3601")
    county_gaps = staffing.distribution_rule_gaps(prefix="3601", route="county")
    assert len(county_gaps) == 9 and {gap.unit.kind for gap in county_gaps} == {Unit.Kind.COUNTY}
    assert staffing.distribution_rule_gaps(prefix="3601", route="direct") == []


def test_only_active_accounts_of_a_role_holding_the_action_count(personas) -> None:
    steps = [("county", "签发")]
    assert codes(staffing.review_chain_gaps(prefix="360102", steps=steps)) == ["360102"]
    staff("supervisor", "360102")  # supervisors do not 审核签发
    staff("distributor", "360102")
    assert codes(staffing.review_chain_gaps(prefix="360102", steps=steps)) == ["360102"]
    (reviewer,) = staff("reviewer", "360102")
    assert staffing.review_chain_gaps(prefix="360102", steps=steps) == []
    reviewer.is_active = False
    reviewer.save()
    assert codes(staffing.review_chain_gaps(prefix="360102", steps=steps)) == ["360102"]
    # A clerk signs for shipments as well as a distributor does.
    staff("clerk", "360103")
    assert "360103" not in codes(staffing.distribution_rule_gaps(prefix="3601", route="county"))


def test_longer_prefixes_and_inactive_stations_are_left_out(personas) -> None:
    steps = [("station", "审核签发")]
    every = codes(staffing.review_chain_gaps(prefix="3601", steps=steps))
    assert "360103001" in every and "360102001" in every
    narrowed = codes(
        staffing.review_chain_gaps(prefix="3601", steps=steps, other_prefixes=["360102", "36", "3601"])
    )
    assert not any(code.startswith("360102") for code in narrowed) and "360103001" in narrowed
    Unit.objects.filter(code="360103001").update(active=False)
    assert "360103001" not in codes(staffing.review_chain_gaps(prefix="3601", steps=steps))


def test_check_refuses_or_takes_the_override(personas) -> None:
    gaps = staffing.review_chain_gaps(prefix="360102", steps=[("station", "审核"), ("county", "签发")])
    assert staffing.check([], override=False, reason="") == ""
    with pytest.raises(ServiceError) as refused:
        staffing.check(gaps, override=False, reason="有原因也须勾选", step_field="review_steps")
    assert refused.value.code == "unstaffed_units" and refused.value.status == 409
    assert set(refused.value.fields) == {
        "review_steps.1",
        "review_steps.2",
        "units.360102001",
        "units.360102",
    }
    with pytest.raises(ServiceError) as blank:
        staffing.check(gaps, override=True, reason=" ")
    assert blank.value.code == "override_reason_required"
    with pytest.raises(ServiceError) as long:
        staffing.check(gaps, override=True, reason="长" * 201)
    assert long.value.code == "override_reason_too_long"
    assert staffing.check(gaps, override=True, reason=" 人员调配中 ") == "人员调配中"


def test_message_names_at_most_ten_units_per_step(personas) -> None:
    gaps = staffing.review_chain_gaps(prefix="36", steps=[("station", "审核签发")])
    assert len(gaps) > 100
    message = staffing.describe(gaps)
    assert f"等 {len(gaps)} 个单位" in message and message.count("派出所") <= 12


def test_a_unit_missing_staff_for_two_steps_is_named_for_both(personas) -> None:
    from tongban.accounts.staffing_forms import unit_list

    review = staffing.review_chain_gaps(prefix="360103", steps=[("county", "审核签发")])
    county = staffing.distribution_rule_gaps(prefix="360103", route="county")
    with pytest.raises(ServiceError) as refused:
        staffing.check(review + county, override=False, reason="", step_field="review_steps")
    message = refused.value.fields["units.360103"]
    assert message.count("南昌市公安局西湖分局") == 1
    assert "第1环节“审核签发”无" in message and "分（县）局质检分发无" in message
    listing = unit_list(refused.value)
    assert listing.count("南昌市公安局西湖分局（360103）") == 2
