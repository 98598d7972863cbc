"""Writes of a campaign (集中换发): create and edit it, derive its targets, seed and update the duty
matrix, put its review/distribution configuration in force and restore what was there before,
generate and sign off the stations' periodic reports. Each is one audited transaction. And its
工作总结 (PDF or Excel), written by a background job or the command line."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.accounts import staffing
from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.campaigns import documents, rules, selectors
from tongban.campaigns.duties import DUTIES, OUTSIDE_NAMES, Department
from tongban.campaigns.models import (
    Campaign,
    CampaignConfiguration,
    CampaignPhase,
    CountyTarget,
    DutyNote,
    DutyTask,
    StationReport,
    StationTarget,
)
from tongban.core.errors import ServiceError
from tongban.handover.models import DistributionRule
from tongban.handover.services import distribution_rule_remove, distribution_rule_set
from tongban.intake.models import ReviewChain, ReviewChainStep
from tongban.intake.rules import ApplicationType
from tongban.intake.services import review_chain_remove, review_chain_set
from tongban.jobs.models import JobRun
from tongban.jobs.services import job_start
from tongban.registry.models import Unit
from tongban.registry.xlsx import write_workbook

Kind = CampaignPhase.Kind

# seeds/003 §三: 派出所 collects and checks (初审), the county bureau 审核、签发, the city bureau
# 审核 again (复核) and submits the production data to the provincial centre.
DEFAULT_REVIEW_STEPS: tuple[dict[str, str], ...] = (
    {"level": ReviewChainStep.Level.STATION.value, "title": "初审"},
    {"level": ReviewChainStep.Level.COUNTY.value, "title": "审核签发"},
    {"level": ReviewChainStep.Level.CITY.value, "title": "复核"},
)
# 换发 is 换领; people who never had a card apply for the first time.
DEFAULT_TYPES = (ApplicationType.RENEWAL.value, ApplicationType.FIRST.value)
MAX_STEPS = 5


def _require(actor: User, action: str) -> None:
    if not actor.can(action) or actor.unit is None:
        raise ServiceError("permission_denied", "无权执行此操作。", status=403)


def _require_manager(actor: User, campaign: Campaign | None = None, area: Unit | None = None) -> None:
    """campaign.manage over the campaign's city: the city bureau's manager (or a provincial one)."""
    _require(actor, "campaign.manage")
    unit = actor.unit
    target = area or (campaign.area if campaign is not None else None)
    if unit is None or target is None or not unit.contains(target):
        raise ServiceError("not_found", "未找到该集中换发。", status=404)


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("area").get(pk=campaign.pk)


def _open(campaign: Campaign) -> None:
    if campaign.status == Campaign.Status.CLOSED:
        raise ServiceError("closed", "该集中换发已结束，不能再修改。", status=409)


# ---------------------------------------------------------------------------------------------
# Campaign and phases


def _clean_phases(
    phases: Mapping[str, tuple[datetime.date, datetime.date]],
) -> dict[str, tuple[datetime.date, datetime.date]]:
    fields: dict[str, str] = {}
    clean: dict[str, tuple[datetime.date, datetime.date]] = {}
    for kind in Kind:
        span = phases.get(kind.value)
        if span is None or span[0] is None or span[1] is None:
            fields[kind.value] = f"请填写{kind.label}阶段的起止日期。"
            continue
        if span[1] < span[0]:
            fields[kind.value] = f"{kind.label}阶段的结束日期不能早于开始日期。"
        clean[kind.value] = span
    if not fields:
        order = [Kind.PREPARE.value, Kind.REPLACE.value, Kind.SUMMARY.value]
        for before, after in itertools.pairwise(order):
            if clean[after][0] <= clean[before][1]:
                fields[after] = f"{Kind(after).label}阶段须在{Kind(before).label}阶段结束后开始。"
    if fields:
        raise ServiceError("bad_phases", "实施步骤的日期有误。", fields=fields)
    return clean


def _clean_rule(values: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, str] = {}
    types = list(values.get("application_types") or [])
    if not types or any(t not in ApplicationType.__members__.values() for t in types):
        fields["application_types"] = "请选择计入的申领类型。"
    if not (
        values.get("include_first_generation")
        or values.get("include_without_card")
        or values.get("expiring_before")
    ):
        fields["include_first_generation"] = "目标人群至少选择一项条件。"
    min_age = values.get("min_age", 16)
    if not isinstance(min_age, int) or not 0 <= min_age <= 120:
        fields["min_age"] = "年龄须在 0 至 120 之间。"
    if not str(values.get("name", "")).strip():
        fields["name"] = "请填写名称。"
    if fields:
        raise ServiceError("invalid", "输入有误，请检查标出的字段。", fields=fields)
    return {**values, "name": str(values["name"]).strip(), "application_types": sorted(set(types))}


RULE_FIELDS = (
    "name",
    "reference_date",
    "min_age",
    "include_first_generation",
    "include_without_card",
    "expiring_before",
    "target_entered",
    "application_types",
    "note",
)


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    area: Unit,
    phases: Mapping[str, tuple[datetime.date, datetime.date]],
    **values: Any,
) -> Campaign:
    """A new campaign for a city (筹备): its phases, its targets derived from the register, the
    duty matrix of §三 and the default configuration (not yet in force)."""
    _require_manager(actor, area=area)
    if area.kind != Unit.Kind.CITY:
        raise ServiceError("not_a_city", "集中换发以地市为单位组织。", fields={"area": "请选择地市公安局。"})
    spans = _clean_phases(phases)
    values = {
        "application_types": list(DEFAULT_TYPES),
        "include_first_generation": True,
        "include_without_card": True,
        "min_age": 16,
        **values,
    }
    clean = _clean_rule(values)
    if Campaign.objects.filter(area=area).exclude(status=Campaign.Status.CLOSED).exists():
        raise ServiceError(
            "already_open",
            f"{area.name}已有未结束的集中换发。",
            fields={"area": "该地市已有未结束的集中换发。"},
            status=409,
        )
    campaign = Campaign.objects.create(
        area=area, created_by=actor, **{k: clean[k] for k in RULE_FIELDS if k in clean}
    )
    CampaignPhase.objects.bulk_create(
        [CampaignPhase(campaign=campaign, kind=kind, start=s, end=e) for kind, (s, e) in spans.items()]
    )
    CampaignConfiguration.objects.create(campaign=campaign, review_steps=list(DEFAULT_REVIEW_STEPS))
    totals = _derive(campaign)
    tasks = _seed_duties(campaign, spans)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_CREATE,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={"area": area.code, "eligible": totals[0], "target": totals[1], "duties": tasks},
    )
    return campaign


@transaction.atomic
def campaign_update(
    *,
    actor: User,
    campaign: Campaign,
    phases: Mapping[str, tuple[datetime.date, datetime.date]],
    **values: Any,
) -> Campaign:
    """Edit the rule, the entered target and the phases: targets are derived again, and duties
    still due at a phase's old end move with it."""
    _require_manager(actor, campaign)
    campaign = _lock(campaign)
    _open(campaign)
    spans = _clean_phases(phases)
    clean = _clean_rule({**{k: getattr(campaign, k) for k in RULE_FIELDS}, **values})
    for key in RULE_FIELDS:
        setattr(campaign, key, clean[key])
    campaign.save()
    old = {p.kind: p for p in campaign.phases.all()}
    for kind, (start, end) in spans.items():
        phase = old.get(kind)
        if phase is None:
            CampaignPhase.objects.create(campaign=campaign, kind=kind, start=start, end=end)
            continue
        if phase.end != end:
            DutyTask.objects.filter(campaign=campaign, phase=kind, due=phase.end).update(due=end)
        phase.start, phase.end = start, end
        phase.save()
    eligible, target = _derive(campaign)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_UPDATE,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={"eligible": eligible, "target": target, "fields": sorted(values)},
    )
    return campaign


@transaction.atomic
def targets_derive(*, actor: User, campaign: Campaign) -> tuple[int, int]:
    """Count the target population in the register again (e.g. after 户口核对) and re-apportion."""
    _require_manager(actor, campaign)
    campaign = _lock(campaign)
    _open(campaign)
    eligible, target = _derive(campaign)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_TARGETS,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={"eligible": eligible, "target": target},
    )
    return eligible, target


def _derive(campaign: Campaign) -> tuple[int, int]:
    """County and station targets from the register: the eligible count itself, or the entered
    number apportioned to counties by their eligible counts and within a county to its stations
    (largest remainder both times, so the parts add up exactly)."""
    counties, stations = selectors.area_units(campaign)
    by_station = selectors.eligible_by_station(campaign)
    station_eligible = {s.pk: by_station.get(s.pk, 0) for s in stations}
    county_of = {s.pk: s.parent_id for s in stations}
    county_eligible = {c.pk: 0 for c in counties}
    for unit_id, n in by_station.items():
        county = county_of.get(unit_id, unit_id if unit_id in county_eligible else None)
        if county in county_eligible:
            county_eligible[county] += n
    if campaign.target_entered is not None:
        county_target = rules.apportion(campaign.target_entered, county_eligible)
    else:
        county_target = dict(county_eligible)
    station_target: dict[int, int] = {}
    for county_unit in counties:
        own = {s.pk: station_eligible[s.pk] for s in stations if s.parent_id == county_unit.pk}
        station_target.update(rules.apportion(county_target[county_unit.pk], own))
    CountyTarget.objects.filter(campaign=campaign).delete()
    StationTarget.objects.filter(campaign=campaign).delete()
    CountyTarget.objects.bulk_create(
        [
            CountyTarget(
                campaign=campaign, county=c, eligible=county_eligible[c.pk], target=county_target[c.pk]
            )
            for c in counties
        ]
    )
    StationTarget.objects.bulk_create(
        [
            StationTarget(
                campaign=campaign,
                county_id=s.parent_id,
                station=s,
                eligible=station_eligible[s.pk],
                target=station_target.get(s.pk, 0),
            )
            for s in stations
            if s.parent_id in county_eligible
        ]
    )
    Campaign.objects.filter(pk=campaign.pk).update(targets_derived_at=timezone.now())
    return sum(county_eligible.values()), sum(county_target.values())


def _seed_duties(campaign: Campaign, spans: Mapping[str, tuple[datetime.date, datetime.date]]) -> int:
    counties, stations = selectors.area_units(campaign)
    city_name = campaign.area.name.removesuffix("公安局")
    owners: dict[Department, list[tuple[Unit | None, str]]] = {
        Department.CITY: [(campaign.area, campaign.area.name)],
        Department.COUNTY: [(c, c.name) for c in counties],
        Department.STATION: [(s, s.name) for s in stations],
    }
    for department, pattern in OUTSIDE_NAMES.items():
        owners[department] = [(None, pattern.format(city=city_name))]
    tasks = [
        DutyTask(
            campaign=campaign,
            department=duty.department.value,
            code=duty.code,
            text=duty.text,
            owner_unit=unit,
            owner_name=name,
            phase=duty.phase,
            due=spans[duty.phase][1],
        )
        for duty in DUTIES
        for unit, name in owners[duty.department]
    ]
    DutyTask.objects.bulk_create(tasks, batch_size=500)
    return len(tasks)


# ---------------------------------------------------------------------------------------------
# Duties


@transaction.atomic
def duty_update(
    *,
    actor: User,
    task: DutyTask,
    note: str,
    status: str | None = None,
    due: datetime.date | None = None,
) -> DutyTask:
    """Append an evidence note (落实情况) to a duty task, changing its status or due date with it."""
    task = (
        DutyTask.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "campaign__area")
        .get(pk=task.pk)
    )
    if not selectors.may_update_duty(actor, task):
        raise ServiceError("not_found", "未找到该职责任务。", status=404)
    if due is not None and due != task.due and not actor.can("campaign.manage"):
        raise ServiceError(
            "permission_denied",
            "只有换发工作负责人可以调整完成期限。",
            fields={"due": "无权调整。"},
            status=403,
        )
    _open(task.campaign)
    note = note.strip()
    if not note:
        raise ServiceError("note_required", "请填写落实情况。", fields={"note": "请填写落实情况。"})
    if len(note) > 2000:
        raise ServiceError(
            "note_too_long", "落实情况不能超过 2000 字。", fields={"note": "不能超过 2000 字。"}
        )
    if status is not None and status not in DutyTask.Status.values:
        raise ServiceError("bad_status", "状态无效。", fields={"status": "请选择状态。"})
    before = task.status
    if status is not None and status != before:
        task.status = status
        task.done_at = timezone.now() if status == DutyTask.Status.DONE else None
    changes: dict[str, Any] = {}
    if due is not None and due != task.due:
        changes["due"] = [task.due.isoformat(), due.isoformat()]
        task.due = due
    task.save()
    DutyNote.objects.create(
        task=task,
        author=actor,
        text=note,
        from_status=before if task.status != before else "",
        to_status=task.status if task.status != before else "",
    )
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_DUTY,
        object_type="campaigns.dutytask",
        object_id=task.pk,
        detail={"campaign": task.campaign_id, "status": task.status, "from": before, **changes},
    )
    return task


# ---------------------------------------------------------------------------------------------
# Configuration: the review chain and the county quality check


def _clean_steps(steps: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    clean = []
    for step in steps:
        level, title = str(step.get("level", "")), str(step.get("title", "")).strip()
        if not level and not title:
            continue
        if level not in ReviewChainStep.Level.values or not title or len(title) > 20:
            raise ServiceError(
                "bad_steps",
                "每个环节须选择办理层级并填写环节名称（不超过 20 字）。",
                fields={"review_steps": "环节有误。"},
            )
        clean.append({"level": level, "title": title})
    if not 1 <= len(clean) <= MAX_STEPS:
        raise ServiceError(
            "bad_steps",
            f"审核签发流程须有 1 至 {MAX_STEPS} 个环节。",
            fields={"review_steps": "环节数有误。"},
        )
    return clean


def unstaffed_gaps(
    campaign: Campaign, review_steps: Sequence[Mapping[str, str]], county_quality_check: bool
) -> list[staffing.Gap]:
    """The units this configuration would send work to where no active account can do it: the
    review steps per household station of the city, and the county bureaus that would check
    and forward the cards (stations under a longer prefix of another chain or rule left out)."""
    prefix = campaign.area.code
    seen = staffing.Staffing()
    gaps = staffing.review_chain_gaps(
        prefix=prefix,
        steps=[(step["level"], step["title"]) for step in review_steps],
        other_prefixes=list(ReviewChain.objects.values_list("region_prefix", flat=True)),
        staffing=seen,
    )
    return gaps + staffing.distribution_rule_gaps(
        prefix=prefix,
        route=DistributionRule.Route.COUNTY if county_quality_check else DistributionRule.Route.DIRECT,
        other_prefixes=list(DistributionRule.objects.values_list("region_prefix", flat=True)),
        staffing=seen,
    )


START_HINT = "请先为这些单位开通账号，或在“流程配置”页勾选“确认无人办理仍保存”、填写原因并保存后再启用。"


def _require_staffed(campaign: Campaign, config: CampaignConfiguration) -> list[str]:
    """Before the configuration goes into force: every unit it sends work to is staffed, or was
    accepted by the manager's override when the configuration was saved. Returns the units
    accepted that way."""
    gaps = unstaffed_gaps(campaign, config.review_steps, config.county_quality_check)
    accepted = set((config.unstaffed_override or {}).get("units", []))
    staffing.check(
        [gap for gap in gaps if gap.unit.code not in accepted],
        override=False,
        reason="",
        step_field="review_steps",
        hint=START_HINT,
    )
    return sorted({gap.unit.code for gap in gaps})


@transaction.atomic
def configuration_update(
    *,
    actor: User,
    campaign: Campaign,
    review_steps: Sequence[Mapping[str, str]],
    county_quality_check: bool,
    override_unstaffed: bool = False,
    override_reason: str = "",
) -> CampaignConfiguration:
    """Change the campaign's configuration; when it is in force, the rows follow at once. A
    configuration sending work to units where no active account can do it is refused
    (`unstaffed_units`) unless `override_unstaffed` is given with a reason, which is kept on the
    configuration and written to the audit trail."""
    _require_manager(actor, campaign)
    campaign = _lock(campaign)
    _open(campaign)
    config = CampaignConfiguration.objects.select_for_update().get(campaign=campaign)
    steps = _clean_steps(review_steps)
    gaps = unstaffed_gaps(campaign, steps, county_quality_check)
    reason = staffing.check(
        gaps, override=override_unstaffed, reason=override_reason, step_field="review_steps"
    )
    config.review_steps = steps
    config.county_quality_check = county_quality_check
    config.unstaffed_override = (
        {
            "units": sorted({gap.unit.code for gap in gaps}),
            "reason": reason,
            "by": actor.pk,
            "by_name": actor.display_name,
            "at": timezone.now().isoformat(),
        }
        if reason
        else None
    )
    config.save()
    if config.in_force:
        _put_in_force(actor, campaign, config)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_CONFIGURE,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={
            "steps": config.review_steps,
            "county_qc": county_quality_check,
            "in_force": config.in_force,
            **({"unstaffed_override": reason} if reason else {}),
        },
    )
    if reason:
        staffing.record_override(
            actor=actor,
            gaps=gaps,
            reason=reason,
            object_type="campaigns.campaign",
            object_id=campaign.pk,
        )
    return config


def _put_in_force(actor: User | None, campaign: Campaign, config: CampaignConfiguration) -> None:
    """The city's review chain and distribution rule as the configuration says, through intake's
    and handover's services."""
    prefix, note = campaign.area.code, f"集中换发配置（{campaign.name}）"[:200]
    review_chain_set(
        actor=actor,
        region_prefix=prefix,
        name=f"{campaign.name}审核签发流程"[:100],
        note=note,
        steps=[(step["level"], step["title"]) for step in config.review_steps],
    )
    route = DistributionRule.Route.COUNTY if config.county_quality_check else DistributionRule.Route.DIRECT
    distribution_rule_set(actor=actor, region_prefix=prefix, route=route, note=note)


@transaction.atomic
def configuration_apply(*, actor: User | None, campaign: Campaign) -> CampaignConfiguration:
    """Put the configuration in force for the city: the review chain and distribution rule with
    region_prefix = the city code. The rows there before are kept to be restored at the close.
    Refused (`unstaffed_units`) where it would send work to a unit no active account can do it
    at, unless the manager accepted that unit when saving the configuration."""
    if actor is not None:
        _require_manager(actor, campaign)
    campaign = _lock(campaign)
    _open(campaign)
    config = CampaignConfiguration.objects.select_for_update().get(campaign=campaign)
    if config.in_force:
        raise ServiceError("already_applied", "配置已启用。", status=409)
    accepted = _require_staffed(campaign, config)
    prefix = campaign.area.code
    chain = ReviewChain.objects.select_for_update().filter(region_prefix=prefix).first()
    config.previous_chain = (
        {
            "name": chain.name,
            "note": chain.note,
            "steps": [{"level": s.level, "title": s.title} for s in chain.steps.order_by("order")],
        }
        if chain is not None
        else None
    )
    rule = DistributionRule.objects.select_for_update().filter(region_prefix=prefix).first()
    config.previous_rule = {"route": rule.route, "note": rule.note} if rule is not None else None
    config.applied_at, config.applied_by, config.restored_at = timezone.now(), actor, None
    config.save()
    _put_in_force(actor, campaign, config)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_CONFIGURATION_APPLY,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={
            "prefix": prefix,
            "steps": config.review_steps,
            "county_qc": config.county_quality_check,
            "replaced_chain": chain.pk if chain is not None else None,
            "replaced_rule": rule.pk if rule is not None else None,
            **({"unstaffed_accepted": accepted} if accepted else {}),
        },
    )
    return config


def _restore(actor: User, campaign: Campaign, config: CampaignConfiguration) -> None:
    prefix = campaign.area.code
    chain = config.previous_chain
    if chain is None:
        review_chain_remove(actor=actor, region_prefix=prefix)
    else:
        review_chain_set(
            actor=actor,
            region_prefix=prefix,
            name=chain["name"],
            note=chain["note"],
            steps=[(step["level"], step["title"]) for step in chain["steps"]],
        )
    rule = config.previous_rule
    if rule is None:
        distribution_rule_remove(actor=actor, region_prefix=prefix)
    else:
        distribution_rule_set(actor=actor, region_prefix=prefix, route=rule["route"], note=rule["note"])
    config.restored_at = timezone.now()
    config.save()


# ---------------------------------------------------------------------------------------------
# Status


@transaction.atomic
def campaign_start(*, actor: User | None, campaign: Campaign) -> Campaign:
    """筹备 → 进行中; the configuration goes into force if it is not yet."""
    if actor is not None:
        _require_manager(actor, campaign)
    campaign = _lock(campaign)
    if campaign.status != Campaign.Status.PREPARING:
        raise ServiceError("not_preparing", "只有筹备中的集中换发可以启动。", status=409)
    config = CampaignConfiguration.objects.get(campaign=campaign)
    if not config.in_force:
        configuration_apply(actor=actor, campaign=campaign)
    campaign.status = Campaign.Status.ACTIVE
    campaign.save(update_fields=["status"])
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_START,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
    )
    return campaign


@transaction.atomic
def campaign_close(*, actor: User, campaign: Campaign) -> Campaign:
    """结束: the review chain and distribution rule the campaign replaced are restored (or its own
    removed where there were none); the figures stay readable."""
    _require_manager(actor, campaign)
    campaign = _lock(campaign)
    _open(campaign)
    config = CampaignConfiguration.objects.select_for_update().get(campaign=campaign)
    restored = config.in_force
    if restored:
        _restore(actor, campaign, config)
    campaign.status = Campaign.Status.CLOSED
    campaign.closed_at = timezone.now()
    campaign.save(update_fields=["status", "closed_at"])
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_CLOSE,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={"restored": restored},
    )
    return campaign


# ---------------------------------------------------------------------------------------------
# Periodic reports (定期上报)


def _may_generate(actor: User | None, campaign: Campaign, stations: Iterable[Unit]) -> None:
    if actor is None or (
        actor.can("campaign.manage") and actor.unit is not None and actor.unit.contains(campaign.area)
    ):
        return
    if (
        actor.can("campaign.report")
        and actor.unit is not None
        and all(s.pk == actor.unit.pk for s in stations)
    ):
        return
    raise ServiceError("permission_denied", "无权生成该报表。", status=403)


@transaction.atomic
def reports_generate(
    *,
    actor: User | None,
    campaign: Campaign,
    period: rules.Period,
    stations: Sequence[Unit] | None = None,
) -> list[StationReport]:
    """Generate (or refresh, while unsigned) the stations' reports for `period` from the data.
    Signed reports are frozen and left as they are. `actor=None`: the command line or the
    schedule. Two generations for one campaign at once (the schedule, a manager, a station)
    queue on the campaign's row instead of both creating a report."""
    campaign = _lock(campaign)
    _counties, all_stations = selectors.area_units(campaign)
    chosen = list(stations) if stations is not None else all_stations
    if any(not campaign.area.contains(s) or s.kind != Unit.Kind.STATION for s in chosen):
        raise ServiceError("not_found", "未找到该派出所。", status=404)
    _may_generate(actor, campaign, chosen)
    span = selectors.window(campaign)
    if span is None or period.end < span[0]:
        raise ServiceError(
            "before_campaign", "报告期在集中换发开始之前。", fields={"period": "报告期早于集中换发。"}
        )
    if period.start > timezone.localdate():
        raise ServiceError("future_period", "报告期尚未开始。", fields={"period": "报告期尚未开始。"})
    figures = selectors.report_figures(campaign, chosen, period)
    existing = {
        r.station_id: r
        for r in StationReport.objects.select_for_update().filter(
            campaign=campaign, period_start=period.start, period_end=period.end, station__in=chosen
        )
    }
    now = timezone.now()
    out, created, refreshed = [], 0, 0
    for station in chosen:
        report = existing.get(station.pk)
        data = figures[station.pk].as_dict()
        if report is None:
            report = StationReport.objects.create(
                campaign=campaign,
                station=station,
                county_id=station.parent_id or station.pk,
                period=period.label,
                period_start=period.start,
                period_end=period.end,
                figures=data,
                generated_at=now,
                generated_by=actor,
            )
            created += 1
        elif not report.signed:
            report.figures, report.generated_at, report.generated_by = data, now, actor
            report.save(update_fields=["figures", "generated_at", "generated_by"])
            refreshed += 1
        out.append(report)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_REPORTS_GENERATE,
        object_type="campaigns.campaign",
        object_id=campaign.pk,
        detail={"period": period.label, "created": created, "refreshed": refreshed, "stations": len(chosen)},
    )
    return out


def reports_generate_due(*, today: datetime.date | None = None) -> int:
    """The schedule: each running campaign's reports of the week just ended (the last whole week
    before today's) for the stations that have none yet. Reports made already, by an earlier run
    or by hand, signed or not, are left as they are, so running it again, or twice at once,
    makes each report once. Returns how many it made."""
    period = rules.previous_week(today or timezone.localdate())
    made = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.ACTIVE):
        span = selectors.window(campaign)
        if span is None or period.end < span[0]:
            continue  # its 集中换发 began after that week
        with transaction.atomic():
            campaign = _lock(campaign)  # a second run waits here, then finds the reports made
            done = set(
                StationReport.objects.filter(
                    campaign=campaign, period_start=period.start, period_end=period.end
                ).values_list("station_id", flat=True)
            )
            missing = [unit for unit in selectors.area_units(campaign)[1] if unit.pk not in done]
            if missing:
                made += len(reports_generate(actor=None, campaign=campaign, period=period, stations=missing))
    return made


@transaction.atomic
def report_sign(*, actor: User, report: StationReport) -> StationReport:
    """签报: the station's own staff sign its report off; from then on it is frozen. Another
    station's report is not found (404); a second sign-off is refused (409)."""
    if not actor.can("campaign.report") or actor.unit_id != report.station_id:
        raise ServiceError("not_found", "未找到该报表。", status=404)
    if Campaign.objects.filter(pk=report.campaign_id, status=Campaign.Status.CLOSED).exists():
        raise ServiceError("closed", "该集中换发已结束。", status=409)
    now = timezone.now()
    # Compare-and-set: of two sign-offs at once exactly one changes the row.
    signed = StationReport.objects.filter(pk=report.pk, signed_at__isnull=True).update(
        signed_by=actor, signed_at=now
    )
    if not signed:
        raise ServiceError("already_signed", "该报表已签报，不能重复签报。", status=409)
    report = StationReport.objects.select_related("station", "signed_by").get(pk=report.pk)
    record(
        actor=actor,
        action=AuditAction.CAMPAIGN_REPORT_SIGN,
        object_type="campaigns.stationreport",
        object_id=report.pk,
        detail={"campaign": report.campaign_id, "period": report.period, "figures": report.figures},
    )
    return report


# ---------------------------------------------------------------------------------------------
# 工作总结

SUMMARY_FORMATS = {"pdf": "PDF", "xlsx": "Excel"}


def summary_scope(actor: User, campaign_id: int) -> tuple[Campaign, Unit]:
    """The campaign and the part of it `actor` sees (the whole city from the city up, their
    county or station from inside it); 404 `not_found` for a campaign not covering their unit."""
    visible = Campaign.objects.visible_to(actor, "campaign.view").select_related("area")
    campaign = visible.filter(pk=campaign_id).first()
    if campaign is None:
        raise ServiceError("not_found", "未找到该集中换发。", status=404)
    return campaign, selectors.scope_unit(actor, campaign)


def summary_request(*, actor: User, campaign_id: int, fmt: str) -> JobRun:
    """工作总结 as `fmt` (pdf or xlsx) of the part of the campaign the actor sees, queued as a
    background job (`tongban.campaigns.jobs.summary`) whose page offers the file."""
    if fmt not in SUMMARY_FORMATS:
        raise ServiceError("invalid", "总结格式应为 pdf 或 xlsx。", fields={"format": "应为 pdf 或 xlsx。"})
    campaign, scope = summary_scope(actor, campaign_id)
    return job_start(
        actor=actor, kind="campaigns.summary", unit=scope, params={"campaign": campaign.pk, "format": fmt}
    )


def summary_name(campaign: Campaign, fmt: str, today: datetime.date) -> str:
    return f"{campaign.name}-工作总结-{today:%Y%m%d}.{fmt}"


def summary_write(
    *, campaign: Campaign, scope: Unit, fmt: str, target: Path, today: datetime.date | None = None
) -> None:
    """Write the 工作总结 of `campaign` as seen from `scope`, counted up to `today`, to `target`
    as `fmt` (the job and `tongban campaigns summary` both come here)."""
    result = selectors.progress(campaign, scope=scope, today=today)
    if fmt == "xlsx":
        write_workbook(target, documents.summary_sheets(campaign, result))
    else:
        target.write_bytes(documents.summary_pdf(campaign, result))
