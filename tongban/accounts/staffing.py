"""Staffing (人员配备): which units a configuration would send work to, or hold work now, where no
active account can do it.

Work lands on a unit; who can do it there follows from the role table and from how each service
checks jurisdiction:

- 审核签发 (`review.decide`): a reviewer of the unit or of a unit above it (review services act
  on the queues of the reviewer's subtree);
- 签收 and 质检转发 of shipments (`shipment.receive`): staff of the destination unit itself;
- 发放 and 核验 (`handover.perform`, `verification.perform`): the unit or a unit above it;
- the counter's own follow-ups, 重新采集相片 and 不予签发告知 (`application.accept`): the
  acceptance station itself;
- 制证 and shipping from the centre (`production.batch`, `shipment.create`): the centre itself.

Only active accounts count (`User.is_active`; the application history's generated `hist-…`
accounts are disabled). A review chain's step resolves per household station, as
`intake.services.review_chain_for` does: a station step lands on every active station whose
county code starts with the chain's prefix, a county or city step on each of their county or
city bureaus; stations governed by a longer prefix of another chain are left out. A distribution
rule routed through the county bureau (质检后分发) lands on the county bureau of every active
station whose code starts with its prefix (again without those under a longer rule); a direct
rule sends cards to the acceptance station, where the clerks who accepted them work.

The save paths (the admin of review chains and distribution rules, the campaign configuration)
refuse a configuration with gaps (`unstaffed_units`, 409) unless the saver confirms it with a
reason (`override_reason`), which is written to the audit trail (`staffing.override`).
This module imports no later stage: callers pass the other prefixes of their own table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tongban.accounts.models import User
from tongban.accounts.roles import roles_with
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.registry.models import Unit

OVERRIDE_REASON_MAX = 200
NAMES_SHOWN = 10  # units named per step in the message; the fields list all of them
LEVEL_KINDS = {"station": Unit.Kind.STATION, "county": Unit.Kind.COUNTY, "city": Unit.Kind.CITY}


@dataclass(frozen=True)
class Need:
    """A kind of work and who can do it: the action, and whether accounts of the units above
    the unit holding the work can do it too."""

    action: str
    work: str
    from_above: bool

    @property
    def who(self) -> str:
        """E.g. 本单位或上级单位的审核签发员; 本单位的受理员或分发发放员."""
        roles = "或".join(role.label for role in roles_with(self.action))
        return f"{'本单位或上级单位' if self.from_above else '本单位'}的{roles}"


REVIEW = Need("review.decide", "审核签发", from_above=True)
RECEIVE = Need("shipment.receive", "签收分发的证件", from_above=False)
FORWARD = Need("shipment.receive", "质检并转发证件", from_above=False)
HANDOVER = Need("handover.perform", "发放证件", from_above=True)
VERIFY = Need("verification.perform", "代领、邮寄后核验", from_above=True)
COUNTER = Need("application.accept", "受理窗口办理", from_above=False)
PRODUCE = Need("production.batch", "制证", from_above=False)
SHIP = Need("shipment.create", "分发已制证证件", from_above=False)


def ancestor_paths(path: str) -> list[str]:
    """The unit's own path and those of the units above it: `36/3601/` → [`36/`, `36/3601/`]."""
    codes = [code for code in path.split("/") if code]
    return ["".join(f"{code}/" for code in codes[: i + 1]) for i in range(len(codes))]


class Staffing:
    """Where the active accounts work: the distinct (role, unit path) pairs, read in one query
    the first time a check needs them and kept for the checks that follow."""

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] | None = None
        self._paths: dict[str, frozenset[str]] = {}

    def paths(self, action: str) -> frozenset[str]:
        """The units (paths) where an active account holding `action` works."""
        if action not in self._paths:
            if self._pairs is None:
                self._pairs = list(
                    User.objects.filter(is_active=True, unit__isnull=False)
                    .order_by()
                    .values_list("role", "unit__path")
                    .distinct()
                )
            roles = {role.value for role in roles_with(action)}
            self._paths[action] = frozenset(path for role, path in self._pairs if role in roles)
        return self._paths[action]

    def can_work(self, unit_path: str, need: Need) -> bool:
        paths = self.paths(need.action)
        if not need.from_above:
            return unit_path in paths
        return any(path in paths for path in ancestor_paths(unit_path))


@dataclass(frozen=True)
class Gap:
    """A unit a configuration sends work to where nobody can do it. `step` is the review step's
    number (1-based), None for the distribution rule's county quality check."""

    unit: Unit
    need: Need
    where: str
    step: int | None = None

    @property
    def lacking(self) -> str:
        return f"{self.where}无{self.need.who}"

    @property
    def text(self) -> str:
        return f"{self.unit.name}（{self.unit.code}）：{self.lacking}"


def _stations(prefix: str, others: Iterable[str], column: str) -> list[Unit]:
    """Active stations whose `column` (region_code or code) starts with `prefix`, less those
    governed by a longer prefix of another row of the same table."""
    longer = [p for p in set(others) if len(p) > len(prefix) and p.startswith(prefix)]
    stations = Unit.objects.filter(
        kind=Unit.Kind.STATION, active=True, **{f"{column}__startswith": prefix}
    ).order_by("path")
    return [s for s in stations if not any(getattr(s, column).startswith(p) for p in longer)]


def _above(stations: Sequence[Unit]) -> dict[str, Unit]:
    """The units on the stations' paths, by code (for `Unit.ancestor`)."""
    codes = {code for station in stations for code in station.path_codes}
    return {unit.code: unit for unit in Unit.objects.filter(code__in=codes)}


def review_chain_gaps(
    *,
    prefix: str,
    steps: Sequence[tuple[str, str]],
    other_prefixes: Iterable[str] = (),
    staffing: Staffing | None = None,
) -> list[Gap]:
    """The units the steps (level, title) of a review chain for household region `prefix` land
    on where no active account can 审核签发, in step order and unit order."""
    staffing = staffing or Staffing()
    stations = _stations(prefix, other_prefixes, "region_code")
    units = _above(stations)
    gaps: list[Gap] = []
    for order, (level, title) in enumerate(steps, start=1):
        kind = LEVEL_KINDS.get(level)
        if kind is None:
            continue
        targets: dict[str, Unit] = {}
        for station in stations:
            unit = station if kind == Unit.Kind.STATION else station.ancestor(kind, among=units)
            if unit is not None:
                targets[unit.path] = unit
        gaps += [
            Gap(unit, REVIEW, f"第{order}环节“{title}”", order)
            for path, unit in sorted(targets.items())
            if not staffing.can_work(path, REVIEW)
        ]
    return gaps


def distribution_rule_gaps(
    *,
    prefix: str,
    route: str,
    other_prefixes: Iterable[str] = (),
    staffing: Staffing | None = None,
) -> list[Gap]:
    """The county bureaus a rule routed through the county (`route == "county"`) sends the
    cards of stations under `prefix` to, where nobody can sign for and forward them."""
    if route != "county":
        return []
    staffing = staffing or Staffing()
    stations = _stations(prefix, other_prefixes, "code")
    units = _above(stations)
    counties = {
        county.path: county
        for county in (station.ancestor(Unit.Kind.COUNTY, among=units) for station in stations)
        if county is not None
    }
    return [
        Gap(county, FORWARD, "分（县）局质检分发")
        for path, county in sorted(counties.items())
        if not staffing.can_work(path, FORWARD)
    ]


SAVE_HINT = "请先为这些单位开通账号，或勾选“确认无人办理仍保存”并填写原因。"


def describe(gaps: Sequence[Gap], hint: str = SAVE_HINT) -> str:
    """The refusal in Chinese: per step, the units (the first NAMES_SHOWN) and who is missing."""
    groups: dict[tuple[str, Need], list[Unit]] = {}
    for gap in gaps:
        groups.setdefault((gap.where, gap.need), []).append(gap.unit)
    parts = []
    for (where, need), units in groups.items():
        names = "、".join(unit.name for unit in units[:NAMES_SHOWN])
        more = f"等 {len(units)} 个单位" if len(units) > NAMES_SHOWN else ""
        parts.append(f"{where}落在{names}{more}，这些单位没有{need.who}")
    return "按此配置，下列单位的待办将无人办理：" + "；".join(parts) + "。" + hint


def check(
    gaps: Sequence[Gap], *, override: bool, reason: str, step_field: str = "", hint: str = SAVE_HINT
) -> str:
    """Refuse a configuration with gaps unless `override` is given with a reason; returns the
    cleaned reason ("" when there was nothing to override). The refusal's fields name each unit
    (`units.<code>`) and, with `step_field`, each step concerned (`<step_field>.<n>`); the
    county quality check's gaps are named `county_quality_check`."""
    reason = reason.strip()
    if not gaps:
        return ""
    if not override:
        fields: dict[str, str] = {}
        for gap in gaps:
            if gap.step is None:
                fields.setdefault("county_quality_check", f"{gap.where}落在无人办理的单位。")
            elif step_field:
                fields.setdefault(f"{step_field}.{gap.step}", f"{gap.where}落在无人办理的单位。")
        for gap in gaps:
            # A unit may miss staff for several steps: one field, each step after the other.
            key = f"units.{gap.unit.code}"
            fields[key] = f"{fields[key]}；{gap.lacking}" if key in fields else gap.text
        raise ServiceError("unstaffed_units", describe(gaps, hint), fields=fields, status=409)
    if not reason:
        raise ServiceError(
            "override_reason_required",
            "确认无人办理仍保存时，须填写原因。",
            fields={"override_reason": "请填写原因。"},
        )
    if len(reason) > OVERRIDE_REASON_MAX:
        raise ServiceError(
            "override_reason_too_long",
            f"原因不能超过 {OVERRIDE_REASON_MAX} 字。",
            fields={"override_reason": f"不能超过 {OVERRIDE_REASON_MAX} 字。"},
        )
    return reason


def record_override(
    *,
    actor: User | None,
    gaps: Sequence[Gap],
    reason: str,
    object_type: str,
    object_id: object,
) -> None:
    """The audit row of a configuration saved although work would land on unstaffed units."""
    record(
        actor=actor,
        action=AuditAction.STAFFING_OVERRIDE,
        object_type=object_type,
        object_id=object_id,
        detail={
            "units": sorted({gap.unit.code for gap in gaps}),
            "steps": sorted({gap.where for gap in gaps}),
            "reason": reason,
        },
    )
