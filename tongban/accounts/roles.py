"""Roles (DOMAIN.md §7) and the actions each may perform. Pure Python: no Django import.

A role says *what* a user may do; their unit says *where* (the unit's subtree). Actions are
named `<record>.<verb>`; scoped querysets take the action so that one table drives the web
pages, the API and the exports alike.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLERK = "clerk"
    REVIEWER = "reviewer"
    CENTRE_OPERATOR = "centre_operator"
    DISTRIBUTOR = "distributor"
    SUPERVISOR = "supervisor"
    FINANCE = "finance"
    CIVIL_AFFAIRS = "civil_affairs"
    CAMPAIGN_MANAGER = "campaign_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.CLERK: "受理员",
    Role.REVIEWER: "审核签发员",
    Role.CENTRE_OPERATOR: "制证中心操作员",
    Role.DISTRIBUTOR: "分发发放员",
    Role.SUPERVISOR: "督导员",
    Role.FINANCE: "财政人员",
    Role.CIVIL_AFFAIRS: "民政人员",
    Role.CAMPAIGN_MANAGER: "换发工作负责人",
    Role.AUDITOR: "审计员",
    Role.ADMIN: "系统管理员",
}
ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]

# person.lookup: fetch one person province-wide by exact ID number (to accept or hand over a card
#   for someone registered elsewhere); person.browse: list people of the own subtree;
# person.view: open a full record of the own subtree.
# application.view: applications accepted, registered or queued in the own subtree;
# application.accept / .withdraw: the counter (受理) of a station; review.decide: 审核签发.
# production.*: a centre's queue, batches, packages and feedback (only what production needs);
# shipment.create / .receive / .view: 分发; handover.perform, verification.perform: 核验发放.
# finance.view / finance.remit: takings, remittance to the treasury and settlement of the subtree.
# liaison.manage: keep the own unit's 联络人 (cross-region liaisons) up to date; every holder of
#   unit.view reads the province's liaison directory.
# campaign.view: campaigns (集中换发) covering the own unit; campaign.manage: create, configure,
#   close, generate reports; campaign.duty: update duty tasks of the own subtree;
#   campaign.report: sign off the own station's periodic report (定期上报).
# supervision.view: the dashboards (督导) of the own subtree; supervision.act: 督办 a stuck item.
# dataquality.view / .decide: the clean-up work list (重号/错号 cases) of the own subtree; decide a case;
#   dataquality.request / .approve: file a correction (变更更正) / approve one (county bureau and above).
# job.oversee: see, cancel and retry the background jobs (后台任务) of the own subtree (everyone
#   sees, cancels and retries the jobs they started themselves).
# notification.template: edit the texts of the notifications (通知模板).
# exchange.view: the 跨省通办 messages and directory; exchange.manage: keep the directory (交换目录),
#   ping a peer, send a message again. Both only at the provincial department (exchange/models.py).
# cardloss.report: 挂失申报, 撤销挂失, 拾获证件 registered, collected and destroyed at the own station
#   (a loss is reported for a person found province-wide by exact ID number, as person.lookup);
#   cardloss.view: the loss reports and found cards of the own subtree (挂失招领).
# temporary.view: the 临时居民身份证 of the own subtree (登记簿, 未收回); temporary.accept: apply for,
#   print, hand out, take back and void one at a station's counter; temporary.issue: 签发 or refuse
#   one at the county bureau above the accepting station.
# appointment.view: the bookings (网上预约) of the own subtree's stations; appointment.manage: their
#   预约设置 (people per half-day, days ahead, dates closed or opened).
# staffing.view: the units of the own subtree that hold pending work no active account can do
#   (无人办理的待办, tongban/accounts/staffing.py).
# cardcheck.view: the institutions registered for 居民身份证核查 and their monthly counts;
#   cardcheck.manage: register, edit, issue keys, suspend and resume them. Both only at the
#   provincial department (cardcheck/models.py).
ROLE_ACTIONS: dict[Role, frozenset[str]] = {
    Role.CLERK: frozenset(
        {
            "person.lookup",
            "cardloss.report",
            "cardloss.view",
            "person.browse",
            "person.view",
            "unit.view",
            "application.view",
            "application.accept",
            "application.withdraw",
            "temporary.view",
            "temporary.accept",
            "shipment.view",
            "shipment.receive",
            "handover.perform",
            "verification.perform",
            "campaign.view",
            "campaign.report",
            "appointment.view",
            "appointment.manage",
        }
    ),
    Role.REVIEWER: frozenset(
        {
            "person.lookup",
            "person.browse",
            "person.view",
            "watchlist.view",
            "unit.view",
            "application.view",
            "review.decide",
            "temporary.view",
            "temporary.issue",
            "dataquality.view",
            "dataquality.request",
        }
    ),
    Role.CENTRE_OPERATOR: frozenset(
        {"unit.view", "production.view", "production.batch", "production.feedback", "shipment.create"}
    ),
    Role.DISTRIBUTOR: frozenset(
        {
            "person.lookup",
            "cardloss.report",
            "cardloss.view",
            "person.browse",
            "person.view",
            "unit.view",
            "application.view",
            "shipment.view",
            "shipment.receive",
            "handover.perform",
            "verification.perform",
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            "person.browse",
            "cardloss.view",
            "person.view",
            "watchlist.view",
            "unit.view",
            "application.view",
            "shipment.view",
            "supervision.view",
            "supervision.act",
            "temporary.view",
            "staffing.view",
            "dataquality.view",
            "dataquality.decide",
            "dataquality.request",
            "dataquality.approve",
            "liaison.manage",
            "campaign.view",
            "campaign.duty",
            "job.oversee",
            "exchange.view",
            "cardcheck.view",
            "appointment.view",
            "appointment.manage",
        }
    ),
    Role.FINANCE: frozenset({"unit.view", "finance.view", "finance.remit"}),
    Role.CIVIL_AFFAIRS: frozenset({"unit.view"}),
    Role.CAMPAIGN_MANAGER: frozenset(
        {"person.browse", "unit.view", "campaign.view", "campaign.manage", "campaign.duty"}
    ),
    Role.AUDITOR: frozenset({"audit.view", "unit.view"}),
    Role.ADMIN: frozenset(
        {
            "person.browse",
            "person.view",
            "unit.view",
            "unit.manage",
            "reference.manage",
            "user.manage",
            "liaison.manage",
            "dataquality.view",
            "staffing.view",
            "job.oversee",
            "notification.template",
            "exchange.view",
            "exchange.manage",
            "cardcheck.view",
            "cardcheck.manage",
        }
    ),
}

# Roles whose accounts must confirm a TOTP code at every login wherever they sit: the default of
# TONGBAN_SECOND_FACTOR_ROLES (settings.SECOND_FACTOR_ROLES), which may name any role.
SECOND_FACTOR_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.AUDITOR})
# Beyond those, an account needs one whenever its role opens full personal records (person.view)
# and its unit is a county bureau or above: it reads the records of a county or more.
WIDE_UNIT_KINDS = frozenset({"county", "city", "province"})


def second_factor_required(role: str, unit_kind: str | None, roles: frozenset[str]) -> bool:
    """Whether an account of `role` at a unit of `unit_kind` must use a second factor, `roles`
    being the configured roles that always must."""
    return role in roles or (role_can(role, "person.view") and unit_kind in WIDE_UNIT_KINDS)


def roles_with(action: str) -> tuple[Role, ...]:
    """The roles holding `action`, in the order of the role table."""
    return tuple(role for role, actions in ROLE_ACTIONS.items() if action in actions)


def role_can(role: str, action: str) -> bool:
    try:
        return action in ROLE_ACTIONS[Role(role)]
    except ValueError:
        return False
