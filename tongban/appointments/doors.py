"""The public doors of 网上预约 and their limits (accounts.limits): per client address for every
action, and per booking code for the lookups, where failures lock the code (a code is
unguessable, but not guessed at all is better). Pages and the API call the same functions; a
knock too many raises `limits.Limited`, which the API answers `429 rate_limited` and a page with
`limits.wait_message`."""

from __future__ import annotations

import datetime

from tongban.accounts import limits
from tongban.appointments import rules, services
from tongban.appointments.models import Booking
from tongban.core.errors import ServiceError

HOUR = datetime.timedelta(hours=1)
SLOTS = limits.Limit("appointments.slots", 300, datetime.timedelta(minutes=10))
BOOK = limits.Limit("appointments.book", 20, HOUR)
LOOKUP = limits.Limit("appointments.lookup", 30, HOUR)
CODE_FAILURES = limits.Limit("appointments.code_failures", 5, HOUR)


def knock(limit: limits.Limit, address: str | None) -> None:
    limits.knock(limit, address or "-")


def booking_for(*, address: str | None, code: str, id_tail: str) -> Booking:
    """The booking a citizen proves with its code and the last 6 of the 公民身份号码: counted per
    address; a code with too many wrong tails is locked for an hour, whoever knocks."""
    knock(LOOKUP, address)
    key = rules.normalize_code(code) or code.strip().upper()[:20]
    until = limits.blocked_until(CODE_FAILURES, key)
    if until is not None:
        raise limits.Limited(until)
    try:
        return services.booking_find(code=code, id_tail=id_tail)
    except ServiceError:
        limits.hit(CODE_FAILURES, key)
        raise
