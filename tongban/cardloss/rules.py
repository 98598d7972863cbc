"""Pure rules of 挂失招领 (no Django): when a lost card may become valid again, how long a found
card is kept."""

from __future__ import annotations

import datetime


def revival_refusal(
    *, report_open: bool, latest: bool, valid_until: datetime.date | None, today: datetime.date
) -> str | None:
    """Why a lost card may not become valid again (撤销挂失, or its owner collecting it when
    found), or None when it may. Once a 补领 was accepted the new card takes its place; a newer
    card (换领 meanwhile) supersedes it; and an expired card has no validity left to give back."""
    if not report_open:
        return "该证件已受理补领或挂失已办结，不能恢复有效。"
    if not latest:
        return "该人员已有更新的证件，原证件不能恢复有效。"
    if valid_until is not None and valid_until < today:
        return "该证件已过有效期，不能恢复有效。"
    return None


def keep_until(registered_on: datetime.date, keep_days: int) -> datetime.date:
    """The last day a found card is kept for its owner; destroyed from the next day on."""
    return registered_on + datetime.timedelta(days=keep_days)


def destruction_due(keep_until: datetime.date, today: datetime.date) -> bool:
    return today > keep_until
