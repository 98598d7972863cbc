"""办理进度查询, the pure rules: which stage a citizen reads for an application's status, what a
refusal means for them and what to do next, and how what they typed is compared with the record.

No Django here: the statuses are `intake.models.Application.Status` values as plain strings (the
tests hold the mapping to every member of that enum), so the rules read and test alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tongban.core import typed


class Stage(enum.Enum):
    """What the citizen reads: a stage in plain words (the issue's list), never a status code of
    the back office."""

    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    ISSUED = "issued"
    IN_PRODUCTION = "in_production"
    AT_SITE = "at_site"
    POSTED = "posted"
    COLLECTED = "collected"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS: dict[Stage, str] = {
    Stage.ACCEPTED: "已受理",
    Stage.IN_REVIEW: "审核中",
    Stage.ISSUED: "已签发",
    Stage.IN_PRODUCTION: "制证中",
    Stage.AT_SITE: "待领取",
    Stage.POSTED: "已邮寄",
    Stage.COLLECTED: "已领取",
    Stage.REFUSED: "不予签发",
    Stage.WITHDRAWN: "已撤回",
}


# Application.Status → stage. A draft (草稿) has no 受理号 and is never found: not in the table.
STAGES: dict[str, Stage] = {
    "accepted": Stage.ACCEPTED,
    "pending_review": Stage.IN_REVIEW,
    "under_verification": Stage.IN_REVIEW,  # 核实中: still the reviewer's, in plain words 审核中
    "issued": Stage.ISSUED,
    "rejected": Stage.REFUSED,
    "withdrawn": Stage.WITHDRAWN,
    "in_production": Stage.IN_PRODUCTION,
    "recollect": Stage.IN_PRODUCTION,  # the photo failed at the centre: made again once retaken
    "produced": Stage.IN_PRODUCTION,  # made, not yet shipped
    "shipped": Stage.IN_PRODUCTION,  # on its way to the station (by post: POSTED, see stage_of)
    "at_site": Stage.AT_SITE,
    "handed_over": Stage.COLLECTED,
    "pending_verification": Stage.COLLECTED,  # 代领 or 邮寄妥投: in hand, the own check still owed
    "verified": Stage.COLLECTED,
}
UNSEEN_STATUSES = frozenset({"draft"})
POST = "post"  # Application.Collection.POST


def stage_of(status: str, collection: str) -> Stage | None:
    """The stage the citizen reads, or None for an application they cannot look up (a draft)."""
    stage = STAGES.get(status)
    if stage is Stage.IN_PRODUCTION and status == "shipped" and collection == POST:
        return Stage.POSTED
    return stage


# Whether the stage still has a collection ahead: the expected date is shown only then.
WAITING_FOR_CARD = frozenset({Stage.ACCEPTED, Stage.IN_REVIEW, Stage.ISSUED, Stage.IN_PRODUCTION})
WAITING_FOR_ISSUE = frozenset({Stage.ACCEPTED, Stage.IN_REVIEW})


def summary(stage: Stage, *, status: str, collection: str, cross_province: bool, station: str) -> str:
    """The stage in one plain sentence."""
    by_post = collection == POST
    if stage is Stage.ACCEPTED:
        return "您的申请已受理，正在转送户籍地公安机关审核签发。"
    if stage is Stage.IN_REVIEW:
        where = "户籍地公安机关（跨省通办）" if cross_province else "户籍地公安机关"
        return f"您的申请正由{where}审核签发。"
    if stage is Stage.ISSUED:
        return "您的申请已审核签发，等待制作证件。"
    if stage is Stage.IN_PRODUCTION:
        if status == "recollect":
            return "制证时发现相片不符合要求，需要重新采集相片后再制作证件。"
        if status == "shipped":
            return f"证件已制作完成，正在送往{station}。"
        if status == "produced":
            return "证件已制作完成，等待分发。"
        return "证件正在制作中。"
    if stage is Stage.AT_SITE:
        return f"证件已到达{station}，可以领取。"
    if stage is Stage.POSTED:
        return "证件已制作完成，已通过邮政寄出。"
    if stage is Stage.COLLECTED:
        if status == "pending_verification":
            return "证件已邮寄送达，还需本人核验。" if by_post else "证件已由亲属代领，还需本人核验。"
        return "证件已领取，办理完毕。"
    if stage is Stage.REFUSED:
        return "户籍地公安机关经审核，决定不予签发。"
    return "该申请已撤回（撤销），不再办理。"


def next_steps(stage: Stage, *, status: str, collection: str) -> tuple[str, ...]:
    """What the citizen does now, if anything (the refusal's own advice comes with it)."""
    if stage is Stage.IN_REVIEW and status == "under_verification":
        return ("审核中需要进一步核实您的身份信息，如公安机关与您联系，请积极配合。",)
    if status == "recollect":
        return ("请携带《领证回执》和居民户口簿，到受理单位重新采集相片。",)
    if stage is Stage.AT_SITE:
        return (
            "请本人携带《领证回执》到受理单位领取，领取时需核对证件信息、比对指纹并签字确认。",
            "本人不能到场的，可由亲属持本人《领证回执》和亲属本人的居民身份证代领，代领后本人须按规定核验。",
        )
    if stage is Stage.POSTED:
        return ("请留意邮件投递。收到证件后，须本人到受理地或户籍地公安机关核验证件和指纹。",)
    if stage is Stage.WITHDRAWN:
        return ("如仍需办理居民身份证，请重新到受理点申请。",)
    return ()


_ROAD = (Stage.ACCEPTED, Stage.IN_REVIEW, Stage.ISSUED, Stage.IN_PRODUCTION, Stage.AT_SITE, Stage.COLLECTED)


def track(stage: Stage, collection: str) -> tuple[tuple[str, str], ...]:
    """The road of an application as (label, done / current / todo) steps, for the page's bar;
    empty for a refused or withdrawn one (its road ended). By post, 已邮寄 takes 待领取's place."""
    if stage in (Stage.REFUSED, Stage.WITHDRAWN):
        return ()
    road = tuple(Stage.POSTED if step is Stage.AT_SITE and collection == POST else step for step in _ROAD)
    here = road.index(stage)
    return tuple(
        (step.label, "done" if i < here else "current" if i == here else "todo")
        for i, step in enumerate(road)
    )


@dataclass(frozen=True)
class RefusalAdvice:
    """A refusal as the citizen reads it: the reason's category in plain words (never the
    reviewer's remark) and what to do next."""

    category: str
    advice: str


HOME = "请携带居民户口簿到常住户口所在地（户籍地）公安机关办理。"
# 不予签发原因 (registry.codes.REFUSAL_REASONS) → the plain category. Several reasons of the
# reviewer's (人像比对, 冒名顶替嫌疑, 难以确认身份) are one category to the public: the reviewer's
# suspicion is not told to whoever holds a 受理号.
_REFUSALS: dict[str, RefusalAdvice] = {
    "01": RefusalAdvice(
        "不符合首次申领条件",
        "登记显示您已申领过居民身份证，不能按首次申领办理。证件丢失的请申请补领，需要更换的请申请换领；"
        + HOME,
    ),
    "02": RefusalAdvice(
        "申请信息与户籍登记不一致", "请先到户籍地公安机关核对户籍登记信息，再" + HOME.removeprefix("请")
    ),
    "03": RefusalAdvice("相片不符合制证标准", "请按标准重新照相后再申请；也可" + HOME.removeprefix("请")),
    "04": RefusalAdvice("身份核查未通过", "请本人" + HOME.removeprefix("请")),
    "05": RefusalAdvice("身份核查未通过", "请本人" + HOME.removeprefix("请")),
    "06": RefusalAdvice("身份核查未通过", "请本人" + HOME.removeprefix("请")),
    "07": RefusalAdvice(
        "申请材料不全或不符合要求", "请对照办事指南备齐材料后重新申请；也可" + HOME.removeprefix("请")
    ),
    "08": RefusalAdvice("不属审核地户籍", HOME),
}
_OTHER = RefusalAdvice("未通过户籍地公安机关审核", HOME)


def refusal_advice(code: str | None) -> RefusalAdvice:
    """The plain category and advice for a 不予签发原因 code; 99 其他, a code added later by an
    administrator, or none (an old refusal) read as the general one."""
    return _REFUSALS.get(code or "", _OTHER)


# ---------------------------------------------------------------------------------------------
# What the citizen typed

NUMBER_MESSAGE = "受理号应为22位数字（见《领证回执》）。"
SUFFIX_MESSAGE = "请填写公民身份号码的后6位（末位可为 X）。"
ONE_OF_MESSAGE = "请填写公民身份号码后6位或申请人姓名，二选一。"
NAME_MAX_LENGTH = 50


def matches(*, id_number: str, name: str, typed_suffix: str, typed_name: str) -> bool:
    """Whether what was typed (one of the two, the other empty) is the record's
    (core.typed: compared in constant time)."""
    if typed_suffix:
        return typed.id_suffix_matches(id_number, typed_suffix)
    return typed.names_match(name, typed_name)
