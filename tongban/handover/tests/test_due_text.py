"""The verification deadline in 办理记录 and messages says 暂估 when it is one."""

from __future__ import annotations

import datetime

from tongban.handover.models import Verification
from tongban.handover.services import due_text


def test_a_provisional_verification_deadline_is_marked() -> None:
    due = datetime.date(2027, 1, 20)
    assert due_text(Verification(due=due, due_provisional=True)) == "2027-01-20（暂估）"
    assert due_text(Verification(due=due, due_provisional=False)) == "2027-01-20"
